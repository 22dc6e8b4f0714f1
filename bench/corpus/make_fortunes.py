#!/usr/bin/python3
"""Build a fastText-format text-classification corpus from Debian's fortune files.

Source
------
Debian packages ``fortunes`` and ``fortunes-min`` (both version 1:1.99.1-7.3 on
Debian 12 "bookworm" when this script was written; check with
``dpkg-query -W fortunes fortunes-min``). They install one file per category
under /usr/share/games/fortunes/ (art, computers, cookie, definitions, ...);
each file holds fortunes separated by lines containing only ``%``. The label of
an example is the name of the file it came from. None of this text was written
by the rowshard project.

License note
------------
The fortune texts are distributed by Debian in the packages above (see
/usr/share/doc/fortunes/copyright). This script only reads the installed files;
the generated train.txt / test.txt are NOT committed to the repository --
regenerate them locally.

Command
-------
    apt-get install -y fortunes fortunes-min
    /usr/bin/python3 bench/corpus/make_fortunes.py /tmp/fortunes [MIN_PER_CLASS=100]

Processing (stdlib only, deterministic)
---------------------------------------
* Every regular file in the directory whose name has no '.' is a category
  (this skips the *.dat index files and the *.u8 symlinks; 'off'/offensive
  subdirectories are not read).
* Each fortune: overstrike sequences "X<BS>" are removed (old nroff-style
  bold/underline, e.g. "_\\bA" -> "A"), remaining control characters become
  spaces, lines are joined with spaces, whitespace is collapsed, and empty
  fortunes are dropped. Exact-duplicate texts are dropped, keeping the first
  occurrence (categories in sorted order, fortunes in file order).
* Categories with fewer than MIN_PER_CLASS examples (after de-duplication) are
  left out.
* Split: an example goes to test iff
  int(sha256(text.encode('utf-8')).hexdigest(), 16) % 5 == 0, else train,
  where text is the cleaned (not yet lowercased/tokenized) fortune text.
  Lines are written in order of that sha256 (i.e. a deterministic shuffle), so
  a sequential reader does not see one class at a time.
* Tokenization: lowercase; tokens are maximal runs of letters (str.isalpha()
  or a combining mark, Unicode category M*), maximal runs of decimal digits
  (str.isdecimal()), and every other non-whitespace character is a token of
  its own; tokens are joined with single spaces.
* Output line: ``__label__<category> <tokens>``.

A JSON summary goes to stdout.
"""

import collections
import hashlib
import json
import os
import re
import subprocess
import sys
import unicodedata

FORTUNE_DIR = "/usr/share/games/fortunes"

_OVERSTRIKE = re.compile(r"[^\x08]\x08")


def is_letter(ch):
    return ch.isalpha() or unicodedata.category(ch).startswith("M")


def tokenize(text):
    text = text.lower()
    tokens = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif is_letter(ch):
            j = i + 1
            while j < n and is_letter(text[j]):
                j += 1
            tokens.append(text[i:j])
            i = j
        elif ch.isdecimal():
            j = i + 1
            while j < n and text[j].isdecimal():
                j += 1
            tokens.append(text[i:j])
            i = j
        else:
            tokens.append(ch)
            i += 1
    return " ".join(tokens)


def clean(raw):
    prev = None
    while prev != raw:  # strip "X\b" pairs, possibly chained
        prev, raw = raw, _OVERSTRIKE.sub("", raw)
    raw = "".join(
        " " if (unicodedata.category(c) == "Cc" and not c.isspace()) else c
        for c in raw
    )
    return " ".join(raw.split())


def read_fortunes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    chunks, cur = [], []
    for line in lines:
        if line.rstrip("\r") == "%":
            chunks.append(cur)
            cur = []
        else:
            cur.append(line)
    chunks.append(cur)
    return [clean(" ".join(c)) for c in chunks]


def package_versions():
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "fortunes", "fortunes-min"],
            capture_output=True, text=True, check=False,
        ).stdout
        return dict(l.split("\t", 1) for l in out.strip().splitlines() if "\t" in l)
    except OSError:
        return {}


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: make_fortunes.py OUT_DIR [MIN_PER_CLASS=100]")
    out_dir = sys.argv[1]
    min_count = int(sys.argv[2]) if len(sys.argv) > 2 else 100

    categories = sorted(
        name for name in os.listdir(FORTUNE_DIR)
        if "." not in name
        and os.path.isfile(os.path.join(FORTUNE_DIR, name))
        and not os.path.islink(os.path.join(FORTUNE_DIR, name))
    )
    if not categories:
        sys.exit("no fortune files in %s (apt-get install fortunes)" % FORTUNE_DIR)

    seen = {}  # text -> category of first occurrence
    per_cat = collections.OrderedDict((c, []) for c in categories)
    raw_counts, dup_same, dup_cross = {}, 0, 0
    for cat in categories:
        texts = [t for t in read_fortunes(os.path.join(FORTUNE_DIR, cat)) if t]
        raw_counts[cat] = len(texts)
        for t in texts:
            if t in seen:
                if seen[t] == cat:
                    dup_same += 1
                else:
                    dup_cross += 1
                continue
            seen[t] = cat
            per_cat[cat].append(t)

    kept = [c for c in categories if len(per_cat[c]) >= min_count]
    dropped = {c: len(per_cat[c]) for c in categories if c not in kept}

    rows = {"train": [], "test": []}
    for cat in kept:
        for t in per_cat[cat]:
            digest = hashlib.sha256(t.encode("utf-8")).hexdigest()
            split = "test" if int(digest, 16) % 5 == 0 else "train"
            rows[split].append((digest, "__label__%s %s" % (cat, tokenize(t))))

    os.makedirs(out_dir, exist_ok=True)
    label_counts = {}
    for split in ("train", "test"):
        rows[split].sort()
        with open(os.path.join(out_dir, split + ".txt"), "w", encoding="utf-8") as f:
            for _, line in rows[split]:
                f.write(line + "\n")
        label_counts[split] = collections.Counter(
            line.split(" ", 1)[0][len("__label__"):] for _, line in rows[split]
        )

    majority = max(kept, key=lambda c: (label_counts["train"][c], c)) if kept else None
    n_test = len(rows["test"])
    tokens_train = sum(line.count(" ") for _, line in rows["train"])
    summary = {
        "source": "Debian " + ", ".join(
            "%s %s" % kv for kv in sorted(package_versions().items())
        ),
        "fortune_dir": FORTUNE_DIR,
        "out_dir": os.path.abspath(out_dir),
        "min_per_class": min_count,
        "num_classes": len(kept),
        "train": len(rows["train"]),
        "test": n_test,
        "train_tokens": tokens_train,
        "duplicates_dropped_same_category": dup_same,
        "duplicates_dropped_cross_category": dup_cross,
        "majority_class": majority,
        "majority_test_accuracy": (
            label_counts["test"][majority] / n_test if n_test else None
        ),
        "per_class": {
            c: {"train": label_counts["train"][c], "test": label_counts["test"][c]}
            for c in kept
        },
        "dropped_small_classes": dropped,
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
