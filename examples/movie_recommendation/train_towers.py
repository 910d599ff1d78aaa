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
DIM dimensions, the item side then through a frozen LayerNorm (every item of the same norm, which
the HNSW index needs); the score is the dot product. Defaults: 40 epochs (84 s of CPU on
MovieLens; at 20 the id tables had learned little). Loss: in-batch sampled softmax with the logQ
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
    """An id embedding and dense features, concatenated, through an MLP. With `normalize`, the
    output goes through a LayerNorm with its affine terms frozen at 1 and 0: zero mean and unit
    variance over its dimensions, hence the same norm (sqrt(dim)) for every item. Inner products
    with such items rank as cosines do, and an HNSW graph searches them well (with free norms the
    popular items become hubs of the inner-product graph and the search misses much of the
    exact top k)."""

    def __init__(self, n_ids, n_features, dim, hidden, normalize=False):
        super().__init__()
        self.embedding = nn.Embedding(n_ids, dim)
        nn.init.normal_(self.embedding.weight, std=0.05)
        layers = [nn.Linear(dim + n_features, hidden), nn.ReLU(), nn.Linear(hidden, dim)]
        if normalize:
            # Affine terms frozen at 1 and 0 (without them, torch 1.13 exports a
            # LayerNormalization node lacking its Scale input, which ONNX's checker rejects).
            norm = nn.LayerNorm(dim)
            norm.weight.requires_grad_(False)
            norm.bias.requires_grad_(False)
            layers.append(norm)
        self.net = nn.Sequential(*layers)

    def forward(self, ids, features):
        return self.net(torch.cat([self.embedding(ids), features], dim=1))


def export(model, inputs, names, path):
    model.eval()
    axes = {n: {0: "batch"} for n in names + ["embedding"]}
    torch.onnx.export(model, tuple(inputs), path, opset_version=OPSET, do_constant_folding=True,
                      input_names=names, output_names=["embedding"], dynamic_axes=axes)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="directory written by --write-tower-data; the towers go there")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--temperature", type=float, default=0.1)
    ap.add_argument("--unknown-share", type=float, default=0.1,
                    help="share of training pairs fed the unknown id (cold-start rows)")
    ap.add_argument("--free-item-norm", action="store_true",
                    help="no LayerNorm at the end of the item tower (HNSW then loses recall)")
    ap.add_argument("--seed", type=int, default=7)
    return ap.parse_args(argv)


def load(d):
    """The tables --write-tower-data wrote, as tensors indexed by the dense ids."""
    with open(os.path.join(d, "tower_data.json")) as f:
        meta = json.load(f)
    (pair_users, pair_items), _ = read_table(os.path.join(d, "interactions.csv"), 2)
    (user_rows,), user_feats = read_table(os.path.join(d, "users.csv"), 1)
    (item_rows, movies), item_feats = read_table(os.path.join(d, "items.csv"), 2)
    assert user_feats.shape[1] == meta["user_features"], "users.csv width"
    assert item_feats.shape[1] == meta["item_features"], "items.csv width"
    # Feature rows by dense index (row 0: unknown, zeros); every catalogue item has features,
    # including those past the id table (no training interactions).
    uf = np.zeros((meta["num_user_ids"], user_feats.shape[1]), np.float32)
    uf[user_rows] = user_feats
    itf = np.zeros((item_rows.max() + 1, item_feats.shape[1]), np.float32)
    itf[item_rows] = item_feats
    return {"meta": meta, "pairs": (torch.tensor(pair_users), torch.tensor(pair_items)),
            "uf": torch.tensor(uf), "itf": torch.tensor(itf), "user_rows": user_rows,
            "item_rows": item_rows, "movies": movies}


def fit(a, data, say=print):
    """Trains the two towers; returns (user tower, item tower, mean loss per epoch)."""
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(1)
    start = time.time()
    uf, itf = data["uf"], data["itf"]
    pu, pi = data["pairs"]
    n_users, n_items = data["meta"]["num_user_ids"], data["meta"]["num_item_ids"]
    # logQ: the probability an in-batch negative is item i is its share of the training pairs.
    counts = np.bincount(pi.numpy(), minlength=itf.shape[0]).astype(np.float64)
    log_q = torch.tensor(np.log(np.maximum(counts, 1.0) / counts.sum()), dtype=torch.float32)
    users = Tower(n_users, uf.shape[1], a.dim, a.hidden)
    items = Tower(n_items, itf.shape[1], a.dim, a.hidden, normalize=not a.free_item_norm)
    params = [p for p in list(users.parameters()) + list(items.parameters()) if p.requires_grad]
    opt = torch.optim.Adam(params, lr=a.lr)
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
        say(f"epoch {epoch + 1}/{a.epochs}: loss {losses[-1]:.4f} ({time.time() - start:.1f} s)")
    users.eval()
    items.eval()
    return users, items, losses


class Scaled(nn.Module):
    """The user tower with the temperature folded into its output: served scores are plain dot
    products, ordered as in training (the logQ term is a training-time correction only)."""

    def __init__(self, tower, scale):
        super().__init__()
        self.tower, self.scale = tower, scale

    def forward(self, ids, features):
        return self.tower(ids, features) * self.scale


def main():
    a = parse_args()
    assert torch.__version__.startswith("1.13"), torch.__version__
    start = time.time()
    data = load(a.dir)
    users, items, losses = fit(a, data, lambda line: print(line, flush=True))
    uf, itf = data["uf"], data["itf"]
    probe_u = torch.tensor(data["user_rows"][:4])
    probe_i = torch.tensor(data["item_rows"][:4])
    export(Scaled(users, 1.0 / a.temperature), [probe_u, uf[probe_u]], ["user_id", "features"],
           os.path.join(a.dir, "user_tower.onnx"))
    export(items, [probe_i, itf[probe_i]], ["item_id", "features"],
           os.path.join(a.dir, "item_tower.onnx"))
    n = len(data["pairs"][0])
    meta = data["meta"]
    info = {"type": "movie.towers", "num_user_ids": meta["num_user_ids"],
            "num_item_ids": meta["num_item_ids"], "dim": a.dim, "hidden": a.hidden,
            "epochs": a.epochs, "batch": a.batch, "lr": a.lr, "temperature": a.temperature,
            "unknown_share": a.unknown_share,
            "item_norm": not a.free_item_norm, "seed": a.seed, "pairs": n,
            "loss": [round(x, 5) for x in losses], "seconds": round(time.time() - start, 1),
            "torch": torch.__version__}
    with open(os.path.join(a.dir, "towers.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"wrote {a.dir}/user_tower.onnx, item_tower.onnx ({n} pairs, {a.epochs} epochs, "
          f"{info['seconds']} s)")


if __name__ == "__main__":
    main()
