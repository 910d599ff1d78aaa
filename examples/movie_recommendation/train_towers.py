#!/usr/bin/python3
"""Trains the movie example's two-tower retriever on the user's machine and exports its towers.

    build/.../example_movie_recommendation movielens.csv --write-tower-data DIR
    /usr/bin/python3 examples/movie_recommendation/train_towers.py DIR [--epochs N] [--seed S]
    build/.../example_movie_recommendation movielens.csv --towers DIR

Needs Debian's python3-torch (1.13; `scripts/install-deps.sh demo` installs it). Reads what the
example wrote in DIR from the TRAINING part of its per-user split (never the held-out ratings):
  interactions.csv  user,item,rating           (dense indices: users 1..U, items 1..I)
  users.csv         user,f0..   the user tower's features (genre profile, activity), as served
  items.csv         item,movie,f0..   the item tower's features (genres, year, popularity)
  tower_data.json   {"num_user_ids": U + 1, "num_item_ids": I + 1, ...}
Row 0 of each id table is the unknown id: a user or movie the towers never saw is served from its
features alone (cold start); training feeds row 0 in place of the id for a share of the pairs so
that row learns the features-only embedding.

Model: per side an id embedding concatenated with the features, through Linear-ReLU-Linear, to
DIM dimensions; the score is the dot product. Loss: in-batch sampled softmax with the logQ
correction (each logit minus the log of its item's sampling probability in the batch stream),
with a temperature. Writes DIR/user_tower.onnx, DIR/item_tower.onnx (torch.onnx, opset 17, a
symbolic batch dimension) and DIR/towers.json. Deterministic for a seed (one thread).
"""
import argparse
import csv
import json
import os
import time

import numpy as np
import torch
from torch import nn

OPSET = 17


def read_table(path, id_columns):
    """Returns (ids per id column, float32 feature matrix of the remaining columns)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    ids = [np.array([int(r[c]) for r in body], dtype=np.int64) for c in range(id_columns)]
    feats = np.array([[float(x) for x in r[id_columns:]] for r in body], dtype=np.float32)
    return ids, feats.reshape(len(body), len(header) - id_columns)


class Tower(nn.Module):
    """An id embedding and dense features, concatenated, through an MLP."""

    def __init__(self, n_ids, n_features, dim, hidden):
        super().__init__()
        self.embedding = nn.Embedding(n_ids, dim)
        nn.init.normal_(self.embedding.weight, std=0.05)
        self.net = nn.Sequential(nn.Linear(dim + n_features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, dim))

    def forward(self, ids, features):
        return self.net(torch.cat([self.embedding(ids), features], dim=1))


def export(model, inputs, names, path):
    model.eval()
    axes = {n: {0: "batch"} for n in names + ["embedding"]}
    torch.onnx.export(model, tuple(inputs), path, opset_version=OPSET, do_constant_folding=True,
                      input_names=names, output_names=["embedding"], dynamic_axes=axes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="directory written by --write-tower-data; the towers go there")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--temperature", type=float, default=0.1)
    ap.add_argument("--unknown-share", type=float, default=0.1,
                    help="share of training pairs fed the unknown id (cold-start rows)")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    assert torch.__version__.startswith("1.13"), torch.__version__
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(1)
    start = time.time()

    with open(os.path.join(a.dir, "tower_data.json")) as f:
        meta = json.load(f)
    (pair_users, pair_items), _ = read_table(os.path.join(a.dir, "interactions.csv"), 2)
    (user_rows,), user_feats = read_table(os.path.join(a.dir, "users.csv"), 1)
    (item_rows, _movies), item_feats = read_table(os.path.join(a.dir, "items.csv"), 2)
    n_users, n_items = meta["num_user_ids"], meta["num_item_ids"]
    assert user_feats.shape[1] == meta["user_features"], "users.csv width"
    assert item_feats.shape[1] == meta["item_features"], "items.csv width"
    # Feature rows by dense index (row 0: unknown, zeros); every catalogue item has features,
    # including those past the id table (no training interactions).
    uf = np.zeros((n_users, user_feats.shape[1]), np.float32)
    uf[user_rows] = user_feats
    itf = np.zeros((item_rows.max() + 1, item_feats.shape[1]), np.float32)
    itf[item_rows] = item_feats
    uf, itf = torch.tensor(uf), torch.tensor(itf)

    # logQ: the probability an in-batch negative is item i is its share of the training pairs.
    counts = np.bincount(pair_items, minlength=itf.shape[0]).astype(np.float64)
    log_q = torch.tensor(np.log(np.maximum(counts, 1.0) / counts.sum()), dtype=torch.float32)

    users = Tower(n_users, uf.shape[1], a.dim, a.hidden)
    items = Tower(n_items, itf.shape[1], a.dim, a.hidden)
    opt = torch.optim.Adam(list(users.parameters()) + list(items.parameters()), lr=a.lr)
    pu, pi = torch.tensor(pair_users), torch.tensor(pair_items)
    n = len(pu)
    losses = []
    for epoch in range(a.epochs):
        users.train()
        items.train()
        perm = torch.randperm(n)
        total, steps = 0.0, 0
        for k in range(0, n, a.batch):
            idx = perm[k:k + a.batch]
            u, i = pu[idx], pi[idx]
            # Cold-start rows: the unknown id with the real features.
            u_id = torch.where(torch.rand(len(u)) < a.unknown_share, torch.zeros_like(u), u)
            i_id = torch.where(torch.rand(len(i)) < a.unknown_share, torch.zeros_like(i), i)
            logits = users(u_id, uf[u]) @ items(i_id, itf[i]).T / a.temperature - log_q[i]
            # The same item twice in a batch is not a negative of itself.
            same = (i.unsqueeze(0) == i.unsqueeze(1)) & ~torch.eye(len(i), dtype=torch.bool)
            logits = logits.masked_fill(same, -1e9)
            loss = nn.functional.cross_entropy(logits, torch.arange(len(i)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        losses.append(total / steps)
        print(f"epoch {epoch + 1}/{a.epochs}: loss {losses[-1]:.4f} "
              f"({time.time() - start:.1f} s)", flush=True)

    # The temperature is folded into the user tower's output: served scores are plain dot
    # products, ordered as in training (the logQ term is a training-time correction only).
    class Scaled(nn.Module):
        def __init__(self, tower, scale):
            super().__init__()
            self.tower, self.scale = tower, scale

        def forward(self, ids, features):
            return self.tower(ids, features) * self.scale

    probe_u = torch.tensor(user_rows[:4])
    probe_i = torch.tensor(item_rows[:4])
    export(Scaled(users, 1.0 / a.temperature), [probe_u, uf[probe_u]], ["user_id", "features"],
           os.path.join(a.dir, "user_tower.onnx"))
    export(items, [probe_i, itf[probe_i]], ["item_id", "features"],
           os.path.join(a.dir, "item_tower.onnx"))
    info = {"type": "movie.towers", "num_user_ids": n_users, "num_item_ids": n_items,
            "dim": a.dim, "hidden": a.hidden, "epochs": a.epochs, "batch": a.batch, "lr": a.lr,
            "temperature": a.temperature, "unknown_share": a.unknown_share, "seed": a.seed,
            "pairs": n, "loss": [round(x, 5) for x in losses],
            "seconds": round(time.time() - start, 1), "torch": torch.__version__}
    with open(os.path.join(a.dir, "towers.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"wrote {a.dir}/user_tower.onnx, item_tower.onnx ({n} pairs, {a.epochs} epochs, "
          f"{info['seconds']} s)")


if __name__ == "__main__":
    main()
