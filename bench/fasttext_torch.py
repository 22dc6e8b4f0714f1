#!/usr/bin/python3
"""PyTorch reference for a fastText-style supervised text classifier.

Reads fastText-format files (one example per line, labels are tokens starting
with ``__label__``, all other tokens are words), trains

    EmbeddingBag(nwords + bucket, dim, mode='mean', sparse=True)
      -> Linear(dim, nlabels, bias=False) -> CrossEntropyLoss

and prints one JSON line with test P@1 (accuracy), N, train time and
examples/s.

Matches fastText (facebookresearch/fastText, src/dictionary.cc) in:
* vocabulary: words with count >= minCount in the training file; OOV words
  are dropped from the bag. Labels are ordered by descending train count.
* word n-grams (wordNgrams > 1): every word token of the line (including OOV
  words) gets hash = FNV-1a 32-bit over its UTF-8 bytes, each byte
  sign-extended as int8 before the XOR. fastText stores these in an int32_t
  vector and does ``uint64_t h = hashes[i]``, so a hash >= 2^31 is
  SIGN-EXTENDED to 64 bits; we do the same. For i, for j = i+1 .. i+n-1
  within the line: h = (h * 116049371 + hash[j]) mod 2^64, bucket id =
  nwords + h % bucket.
* bucket is forced to 0 when wordNgrams <= 1 (fastText does this in
  Args::parseArgs for supervised models without char n-grams), so the
  embedding table then has only nwords rows.
* init: input matrix uniform(-1/dim, 1/dim), output matrix zeros.
* optimizer 'sgd': plain SGD on both matrices, lr decaying linearly from --lr
  to 0 over all updates (fastText decays by processed tokens, per thread
  Hogwild; here it is per update, single process).
* tokens are split on ASCII whitespace like fastText's readWord.

Differences to fastText, on purpose: no end-of-line token '</s>' unless
--eos is given (fastText appends it to every line, and it then acts like a
learned bias and also takes part in word n-grams); batches of --batch lines
use the MEAN loss over the batch; lines with several labels use the first
label for training and count as correct at test time if the top prediction is
any of their labels; test lines with an empty bag are scored (all-zero logits
-> the most frequent train label) rather than skipped.

Optimizer 'sparse_adam_adam': torch.optim.SparseAdam on the embedding bag and
torch.optim.Adam on the linear layer, constant --lr.
"""

import argparse
import collections
import json
import random
import re
import sys
import time

import torch
from torch import nn

LABEL = "__label__"
EOS = "</s>"
_WS = re.compile(r"[ \n\r\t\v\f\0]+")
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF


def fnv1a(word):
    h = 2166136261
    for b in word.encode("utf-8"):
        if b >= 0x80:  # int8 sign extension to 32 bits
            b |= 0xFFFFFF00
        h = ((h ^ b) * 16777619) & M32
    return h


def as_int32_to_u64(h):
    """uint32 -> int32 -> uint64, i.e. sign extension (fastText's int32_t hashes)."""
    return h | 0xFFFFFFFF00000000 if h & 0x80000000 else h


def read_file(path, eos):
    examples = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            toks = [t for t in _WS.split(line) if t]
            labels = [t for t in toks if t.startswith(LABEL)]
            words = [t for t in toks if not t.startswith(LABEL)]
            if eos:
                words.append(EOS)
            examples.append((labels, words))
    return examples


class Dictionary:
    def __init__(self, examples, min_count, word_ngrams, bucket):
        wc = collections.Counter(w for _, ws in examples for w in ws)
        lc = collections.Counter(l for ls, _ in examples for l in ls)
        # fastText sorts by count (desc); ties broken by first appearance there,
        # by string here -- only affects row order, not the model.
        words = sorted((w for w, c in wc.items() if c >= min_count),
                       key=lambda w: (-wc[w], w))
        self.labels = sorted(lc, key=lambda l: (-lc[l], l))
        self.word2id = {w: i for i, w in enumerate(words)}
        self.label2id = {l: i for i, l in enumerate(self.labels)}
        self.nwords = len(words)
        self.word_ngrams = word_ngrams
        self.bucket = bucket
        self._hash_cache = {}

    def _hash(self, w):
        h = self._hash_cache.get(w)
        if h is None:
            h = self._hash_cache[w] = as_int32_to_u64(fnv1a(w))
        return h

    def ids(self, words):
        out = [self.word2id[w] for w in words if w in self.word2id]
        n = self.word_ngrams
        if n > 1 and self.bucket > 0:
            hs = [self._hash(w) for w in words]
            for i in range(len(hs)):
                h = hs[i]
                for j in range(i + 1, min(len(hs), i + n)):
                    h = (h * 116049371 + hs[j]) & M64
                    out.append(self.nwords + h % self.bucket)
        return out


class FastText(nn.Module):
    def __init__(self, nrows, dim, nlabels):
        super().__init__()
        self.emb = nn.EmbeddingBag(nrows, dim, mode="mean", sparse=True)
        self.out = nn.Linear(dim, nlabels, bias=False)
        with torch.no_grad():
            self.emb.weight.uniform_(-1.0 / dim, 1.0 / dim)
            self.out.weight.zero_()

    def forward(self, flat, offsets):
        return self.out(self.emb(flat, offsets))


def encode(examples, d, train):
    """-> list of (id tensor, target label id or -1, set of gold label ids)."""
    out = []
    for labels, words in examples:
        gold = [d.label2id[l] for l in labels if l in d.label2id]
        if train and not gold:
            continue  # fastText skips lines without a known label
        ids = torch.tensor(d.ids(words), dtype=torch.long)
        if train and ids.numel() == 0:
            continue  # fastText skips lines with an empty bag
        out.append((ids, gold[0] if gold else -1, set(gold)))
    return out


def make_batch(items):
    lens = [it[0].numel() for it in items]
    offsets = torch.tensor([0] + lens[:-1], dtype=torch.long).cumsum(0)
    flat = torch.cat([it[0] for it in items]) if sum(lens) else torch.zeros(0, dtype=torch.long)
    return flat, offsets


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--epoch", type=int, default=5)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--wordNgrams", type=int, default=1)
    p.add_argument("--bucket", type=int, default=2000000)
    p.add_argument("--minCount", type=int, default=1)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--optimizer", choices=["sgd", "sparse_adam_adam"], default="sgd")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--eos", action="store_true",
                   help="append fastText's '</s>' token to every line")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)

    t0 = time.perf_counter()
    train_raw = read_file(a.train, a.eos)
    test_raw = read_file(a.test, a.eos)
    bucket = a.bucket if a.wordNgrams > 1 else 0
    d = Dictionary(train_raw, a.minCount, a.wordNgrams, bucket)
    train = encode(train_raw, d, True)
    test = encode(test_raw, d, False)
    prep_s = time.perf_counter() - t0

    model = FastText(d.nwords + bucket, a.dim, len(d.labels))
    loss_fn = nn.CrossEntropyLoss()
    if a.optimizer == "sgd":
        opts = [torch.optim.SGD(model.parameters(), lr=a.lr)]
    else:
        opts = [torch.optim.SparseAdam([model.emb.weight], lr=a.lr),
                torch.optim.Adam([model.out.weight], lr=a.lr)]

    n = len(train)
    steps_per_epoch = (n + a.batch - 1) // a.batch
    total_steps = steps_per_epoch * a.epoch
    order = list(range(n))
    step = 0
    epoch_losses = []
    t1 = time.perf_counter()
    model.train()
    for _ in range(a.epoch):
        rng.shuffle(order)
        loss_sum = 0.0
        for s in range(0, n, a.batch):
            items = [train[k] for k in order[s:s + a.batch]]
            flat, offsets = make_batch(items)
            target = torch.tensor([it[1] for it in items], dtype=torch.long)
            if a.optimizer == "sgd":
                lr = a.lr * (1.0 - step / total_steps)
                for g in opts[0].param_groups:
                    g["lr"] = lr
            for o in opts:
                o.zero_grad(set_to_none=True)
            loss = loss_fn(model(flat, offsets), target)
            loss.backward()
            for o in opts:
                o.step()
            loss_sum += loss.item() * len(items)
            step += 1
        epoch_losses.append(loss_sum / n)
    train_s = time.perf_counter() - t1

    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(test), 1024):
            items = test[s:s + 1024]
            flat, offsets = make_batch(items)
            pred = model(flat, offsets).argmax(1).tolist()
            correct += sum(1 for pr, it in zip(pred, items) if pr in it[2])
    n_test = len(test)

    print(json.dumps({
        "p_at_1": correct / n_test if n_test else None,
        "N": n_test,
        "n_empty_test_bags": sum(1 for it in test if it[0].numel() == 0),
        "train_time_s": round(train_s, 3),
        "examples_per_s": round(n * a.epoch / train_s, 1) if train_s > 0 else None,
        "prep_time_s": round(prep_s, 3),
        "n_train": n,
        "nwords": d.nwords,
        "nlabels": len(d.labels),
        "rows": d.nwords + bucket,
        "train_loss_per_epoch": [round(x, 4) for x in epoch_losses],
        "args": vars(a),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    sys.exit(main())
