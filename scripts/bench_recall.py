"""Associative recall with the Text-Native SSMN, against PyTorch GRU/LSTM baselines.

1. Associative retrieval (Ba et al. 2016, "Using fast weights to attend to the recent past"):
   "c9k8j3f1??c" -> 9. Four distinct letter keys with digit values, "??", then a query key; 37
   symbols (26 letters, 10 digits, "?"); the model reads 11 tokens and is scored on its prediction
   at the last one. Test error against hidden size at ``window_size`` 11 (attention sees the whole
   sequence) and ``window_size`` 2, where the pairs have left the window before the query arrives
   and only the fast weights W_f can carry them.
2. Multi-query associative recall (MQAR-style): ``--mq-pairs`` key-value pairs, then
   ``--mq-queries`` queries (key, value to predict), sequence length >= 4x the window; the same
   model with plastic_ratio 0 (window only, no W_f) and > 0.

Defaults are small (10k/1k/2k sequences, a few epochs) so the script finishes in minutes on a
laptop CPU; ``--full`` uses Ba et al.'s 100k/10k/20k splits. The SSMN trains with Adam on the
exact BPTT gradient, each batch split over ``--threads`` threads; torch uses the same number of
threads, hidden sizes, epochs and batch size.

Usage::

    python scripts/bench_recall.py                   # small splits
    python scripts/bench_recall.py --full --epochs 15 --hidden 20 50 64
"""
from __future__ import annotations

import argparse
import importlib
import concurrent.futures
import json
import pathlib
import string
import time

import numpy as np

from _cell_args import add_cell_arguments, cell_kwargs
from ssmn_rl import SSMN
from ssmn_rl.optim import Adam

LETTERS, DIGITS = string.ascii_lowercase, string.digits
AR_VOCAB = LETTERS + DIGITS + "?"


def _have_torch() -> bool:
    """True when PyTorch imports (the baselines are skipped otherwise)."""
    try:
        importlib.import_module("torch")
    except ImportError:
        return False
    return True


def make_retrieval(n: int, rng, n_pairs: int = 4):
    """(tokens (n, 2*n_pairs+3), answers (n,)) for Ba et al.'s associative retrieval task."""
    T = 2 * n_pairs + 3
    X = np.empty((n, T), np.int32)
    keys = np.argsort(rng.random((n, 26)), axis=1)[:, :n_pairs]  # distinct letters
    vals = rng.integers(0, 10, (n, n_pairs)) + 26
    X[:, 0:2 * n_pairs:2], X[:, 1:2 * n_pairs:2] = keys, vals
    X[:, 2 * n_pairs:2 * n_pairs + 2] = 36
    q = rng.integers(0, n_pairs, n)
    X[:, -1] = keys[np.arange(n), q]
    return X, vals[np.arange(n), q]


def make_mqar(n: int, rng, n_pairs: int, n_queries: int, n_keys: int = 32, n_values: int = 32):
    """Tokens (n, 2*(n_pairs+n_queries)), targets and loss mask of multi-query recall: keys are ids
    [0, n_keys), values [n_keys, n_keys+n_values); after the pairs come (query key, its value)
    couples and the model must predict each value from its query key."""
    T = 2 * (n_pairs + n_queries)
    keys = np.argsort(rng.random((n, n_keys)), axis=1)[:, :n_pairs]
    vals = rng.integers(0, n_values, (n, n_pairs)) + n_keys
    X = np.empty((n, T), np.int32)
    X[:, 0:2 * n_pairs:2], X[:, 1:2 * n_pairs:2] = keys, vals
    q = np.argsort(rng.random((n, n_pairs)), axis=1)[:, :n_queries]
    qk, qv = np.take_along_axis(keys, q, 1), np.take_along_axis(vals, q, 1)
    X[:, 2 * n_pairs::2], X[:, 2 * n_pairs + 1::2] = qk, qv
    Y = np.zeros((n, T), np.int64)
    mask = np.zeros((n, T))
    Y[:, 2 * n_pairs:-1:2] = X[:, 2 * n_pairs + 1::2]  # predict the value after each query key
    mask[:, 2 * n_pairs:-1:2] = 1.0
    return X, Y, mask


def train_ssmn(data, V, H, w, rho, args, seed=0):
    """Train a Text-Native SSMN; returns (test error, seconds). data: (Xtr, Ytr, Mtr, Xte, Yte, Mte)."""
    Xtr, Ytr, Mtr, Xte, Yte, Mte = data
    m = SSMN("text_native", vocab_size=V, embed_dim=H, hidden_dim=H, window_size=w, n_layers=2,
             plastic_ratio=rho, rule=args.rule, plasticity_eta=args.eta, decay_lambda=args.decay,
             chat_steps=args.chat_steps, **cell_kwargs(args, gates=rho > 0), seed=seed)
    opt = Adam(m.n_parameters, lr=args.lr, max_grad_norm=1.0)
    rng = np.random.default_rng(seed)
    pool = concurrent.futures.ThreadPoolExecutor(args.threads)
    t0 = time.perf_counter()
    try:
        for _ in range(args.epochs):
            order = rng.permutation(len(Xtr))
            for b in range(0, len(order), args.batch):
                idx = order[b:b + args.batch]
                parts = [p for p in np.array_split(idx, args.threads) if p.size]
                res = list(pool.map(lambda p: m.value_and_grad(Xtr[p], Ytr[p], loss="cross_entropy",
                                                               mask=Mtr[p]), parts))
                grad = sum(r[1] * (p.size / idx.size) for r, p in zip(res, parts))
                m.set_parameters(opt.step(m.get_parameters(), grad))
        secs = time.perf_counter() - t0
        pred = m.forward(Xte).argmax(-1)
    finally:
        pool.shutdown()
    return float(((pred != Yte) * Mte).sum() / Mte.sum()), secs, m.n_parameters


def train_torch(kind, data, V, H, args, seed=0):
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(seed)
    Xtr, Ytr, Mtr, Xte, Yte, Mte = (torch.from_numpy(np.asarray(a)) for a in data)
    Xtr, Xte, Ytr = Xtr.long(), Xte.long(), Ytr.long()
    rnn = (torch.nn.GRU if kind == "GRU" else torch.nn.LSTM)(H, H, batch_first=True)
    emb, out = torch.nn.Embedding(V, H), torch.nn.Linear(H, V)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(out.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        order = torch.randperm(len(Xtr), generator=g)
        for b in range(0, len(order), args.batch):
            idx = order[b:b + args.batch]
            logits = out(rnn(emb(Xtr[idx]))[0])
            nll = torch.nn.functional.cross_entropy(logits.reshape(-1, V), Ytr[idx].reshape(-1), reduction="none")
            m = Mtr[idx].reshape(-1).float()
            loss = (nll * m).sum() / m.sum()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
    secs = time.perf_counter() - t0
    with torch.no_grad():
        pred = out(rnn(emb(Xte))[0]).argmax(-1)
    err = float(((pred != Yte).float() * Mte.float()).sum() / Mte.float().sum())
    return err, secs, sum(p.numel() for p in params)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--full", action="store_true", help="Ba et al.'s 100k/10k/20k splits")
    p.add_argument("--n-train", type=int, default=10_000)
    p.add_argument("--n-test", type=int, default=2_000)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--hidden", type=int, nargs="+", default=[20, 50])
    p.add_argument("--windows", type=int, nargs="+", default=[11, 2])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--rule", default="delta")
    p.add_argument("--eta", type=float, default=1.0)
    p.add_argument("--decay", type=float, default=0.0)
    p.add_argument("--chat-steps", type=int, default=1)
    add_cell_arguments(p)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mq-pairs", type=int, default=16)
    p.add_argument("--mq-queries", type=int, default=8)
    p.add_argument("--mq-window", type=int, default=2)
    p.add_argument("--mq-hidden", type=int, default=64)
    p.add_argument("--skip-mqar", action="store_true")
    p.add_argument("--skip-retrieval", action="store_true")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--json", type=pathlib.Path, default=None)
    args = p.parse_args(argv)
    if args.full:
        args.n_train, args.n_test = 100_000, 20_000  # (the 10k validation split is not used here)
    have_torch = not args.no_torch and _have_torch()
    rng = np.random.default_rng(0)
    results = {"args": {k: v for k, v in vars(args).items() if k != "json"}, "retrieval": [], "mqar": []}

    Xtr, ytr = make_retrieval(args.n_train, rng)
    Xte, yte = make_retrieval(args.n_test, rng)

    def last_step(X, y):
        Y = np.zeros(X.shape, np.int64)
        M = np.zeros(X.shape)
        Y[:, -1], M[:, -1] = y, 1.0
        return Y, M

    Ytr, Mtr = last_step(Xtr, ytr)
    Yte, Mte = last_step(Xte, yte)
    data = (Xtr, Ytr, Mtr, Xte, Yte, Mte)
    if not args.skip_retrieval:
        print(f"Associative retrieval (Ba et al. 2016): 4 pairs, 11 tokens, V=37; train {args.n_train}, "
              f"test {args.n_test}; {args.epochs} epochs, batch {args.batch}, lr {args.lr}, "
              f"{args.threads} threads; SSMN rule={args.rule} eta={args.eta} lambda={args.decay}")
        print(f"{'model':<22} | {'H':>4} | {'params':>7} | {'test error':>10} | {'train s':>8}")
        print("-" * 64)
        for H in args.hidden:
            rows = [(f"SSMN w={w}", lambda w=w: train_ssmn(data, 37, H, w, 0.5, args)) for w in args.windows]
            if have_torch:
                rows += [(kind, lambda kind=kind: train_torch(kind, data, 37, H, args)) for kind in ("GRU", "LSTM")]
            for name, fn in rows:
                err, secs, n_par = fn()
                results["retrieval"].append({"model": name, "hidden": H, "params": n_par, "test_error": err,
                                             "seconds": secs})
                print(f"{name:<22} | {H:>4} | {n_par:>7} | {err:10.2%} | {secs:8.1f}", flush=True)

    if not args.skip_mqar:
        P, Q, w, H = args.mq_pairs, args.mq_queries, args.mq_window, args.mq_hidden
        n_tr, n_te = max(1, args.n_train // 2), max(1, args.n_test // 2)
        tr, te = make_mqar(n_tr, rng, P, Q), make_mqar(n_te, rng, P, Q)
        mq = (*tr, *te)
        T = 2 * (P + Q)
        print(f"\nMulti-query recall: {P} pairs, {Q} queries, length {T} (= {T / w:.1f} x window {w}), "
              f"V=64, chance error {1 - 1 / 32:.1%}; train {n_tr}, test {n_te}")
        print(f"{'model':<22} | {'H':>4} | {'params':>7} | {'query error':>11} | {'train s':>8}")
        print("-" * 65)
        rows = [("SSMN rho=0 (window)", lambda: train_ssmn(mq, 64, H, w, 0.0, args)),
                ("SSMN rho=0.5", lambda: train_ssmn(mq, 64, H, w, 0.5, args))]
        if have_torch:
            rows += [(kind, lambda kind=kind: train_torch(kind, mq, 64, H, args)) for kind in ("GRU", "LSTM")]
        for name, fn in rows:
            err, secs, n_par = fn()
            results["mqar"].append({"model": name, "hidden": H, "params": n_par, "query_error": err,
                                    "seconds": secs})
            print(f"{name:<22} | {H:>4} | {n_par:>7} | {err:11.2%} | {secs:8.1f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
