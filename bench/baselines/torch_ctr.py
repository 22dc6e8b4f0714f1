"""The ctr model of rowshard in PyTorch 1.13, for `pnpm bench:ctr`: the same architecture
(bottom Linear+ReLU on the dense features, one nn.EmbeddingBag per categorical feature with
ids hashed modulo the table size, top Linear+ReLU+Linear to one logit, BCEWithLogitsLoss),
the same data file (Criteo's TSV), the same batches in file order, sparse Adagrad on the
tables and Adam on the rest. Prints one JSON line: examples/s of the training loop, held-out
ROC AUC and log-loss.

usage: torch_ctr.py TRAIN.tsv TEST.tsv NUM_DENSE NUM_CAT TABLE_SIZE DIM HIDDEN BATCH STEPS
       EMB_LR DENSE_LR THREADS SEED
"""
import json
import math
import sys
import time

import numpy as np
import torch


def read(path, num_dense, num_cat, table_size):
    labels, dense, cats = [], [], []
    with open(path) as f:
        for line in f:
            cols = line.rstrip('\n').split('\t')
            labels.append(float(cols[0]))
            dense.append([math.log1p(max(int(c), 0)) if c else 0.0 for c in cols[1:1 + num_dense]])
            cats.append([int(c, 16) % table_size if c else 0 for c in cols[1 + num_dense:1 + num_dense + num_cat]])
    return (torch.tensor(labels, dtype=torch.float32), torch.tensor(dense, dtype=torch.float32),
            torch.tensor(cats, dtype=torch.int64))


class Ctr(torch.nn.Module):
    def __init__(self, num_dense, num_cat, table_size, dim, hidden):
        super().__init__()
        self.bottom = torch.nn.Linear(num_dense, hidden)
        self.tables = torch.nn.ModuleList(
            [torch.nn.EmbeddingBag(table_size, dim, mode='sum', sparse=True) for _ in range(num_cat)])
        self.top1 = torch.nn.Linear(hidden + num_cat * dim, hidden)
        self.top2 = torch.nn.Linear(hidden, 1)

    def forward(self, dense, cats):
        parts = [torch.relu(self.bottom(dense))]
        for f, table in enumerate(self.tables):
            parts.append(table(cats[:, f:f + 1]))
        return self.top2(torch.relu(self.top1(torch.cat(parts, dim=1)))).squeeze(1)


def auc(scores, labels):
    order = np.argsort(scores, kind='mergesort')
    s, y = scores[order], labels[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j + 2) / 2
        i = j + 1
    pos = y > 0.5
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main():
    (train, test, num_dense, num_cat, table_size, dim, hidden, batch, steps, emb_lr, dense_lr, threads,
     seed) = sys.argv[1:14]
    num_dense, num_cat, table_size, dim, hidden, batch, steps = map(
        int, (num_dense, num_cat, table_size, dim, hidden, batch, steps))
    torch.set_num_threads(int(threads))
    torch.manual_seed(int(seed))
    y, x, c = read(train, num_dense, num_cat, table_size)
    model = Ctr(num_dense, num_cat, table_size, dim, hidden)
    sparse = torch.optim.Adagrad(model.tables.parameters(), lr=float(emb_lr))
    dense_params = [p for n, p in model.named_parameters() if not n.startswith('tables.')]
    adam = torch.optim.Adam(dense_params, lr=float(dense_lr))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    n = len(y)
    start = time.perf_counter()
    for t in range(steps):
        idx = torch.arange(t * batch, (t + 1) * batch) % n
        sparse.zero_grad()
        adam.zero_grad()
        loss = loss_fn(model(x[idx], c[idx]), y[idx])
        loss.backward()
        sparse.step()
        adam.step()
    seconds = time.perf_counter() - start
    ty, tx, tc = read(test, num_dense, num_cat, table_size)
    with torch.no_grad():
        logits = model(tx, tc)
        log_loss = float(loss_fn(logits, ty))
    print(json.dumps({'examplesPerSec': steps * batch / seconds, 'auc': auc(logits.numpy(), ty.numpy()),
                      'logLoss': log_loss, 'seconds': seconds}))


if __name__ == '__main__':
    main()
