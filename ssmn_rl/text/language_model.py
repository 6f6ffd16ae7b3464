"""``SSMNLanguageModel``: a character-level language model on the Text-Native SSMN, as a
scikit-learn-style estimator over plain text.

Training (``fit``)
------------------
The texts are encoded with a :class:`~ssmn_rl.text.CharTokenizer` learnt from them (each text is
``<bos>`` + its characters) and concatenated into one token stream. Its last
``validation_fraction`` is held out. The rest is cut into ``batch_size`` contiguous streams that are
read in parallel, ``chunk_length`` tokens at a time: truncated back-propagation through time, with
each stream's state (attention window and fast weights) carried from one chunk to the next, and
Adam on the mean next-token cross-entropy. The batch is split across ``n_jobs`` threads (the C
kernels release the GIL) and the gradients averaged, so every core works on each step.

The validation tail is scored in ``n_jobs`` contiguous pieces, one per thread, each from a fresh
state. ``history_`` records the validation loss (nats per character) against the training time;
with validation the parameters with the best validation loss are kept at the end.

Scoring (``score``) is in nats per character — lower is better, unlike scikit-learn's "greater is
better" convention for ``score``; for a search use e.g. ``scoring=lambda est, X, y=None:
-est.score(X)``.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import json
import math
import numbers
import os
import pathlib
import sys
import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError, InputError, ModelFileError
from ..model import SSMN
from ..optim import Adam
from ..plugin_manager import list_rules
from ..serialization import atomic_write, parameters_digest
from .tokenizer import CharTokenizer, check_texts

FORMAT_NAME = "ssmn_rl.text.language_model"
FORMAT_VERSION = 1
MODEL_FILE, META_FILE = "model.ssmn", "language_model.json"
#: score() reads long texts in pieces of this many tokens (state carried), bounding the logits held.
_SCORE_PIECE = 1 << 16


def _json_digest(meta: dict) -> str:
    """SHA-256 of the canonical JSON of `meta` without its own "sha256" entry."""
    body = {k: v for k, v in meta.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _n_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _log_softmax_nll(logits: np.ndarray, targets: np.ndarray) -> float:
    """Sum over positions of -log softmax(logits)[target] (float64)."""
    z = logits.astype(np.float64, copy=False)
    m = z.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(z - m).sum(axis=-1)) + m[..., 0]
    picked = np.take_along_axis(z, targets[..., None].astype(np.int64), axis=-1)[..., 0]
    return float((lse - picked).sum())


class _Progress:
    """tqdm bar over optimiser steps when tqdm is installed, else one stderr line per evaluation."""

    def __init__(self, verbose: int, total: int | None):
        self.verbose, self._bar = int(verbose), None
        if self.verbose > 0:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc="SSMNLanguageModel.fit", unit="step",
                                 file=sys.stderr, leave=True)

    def step(self, loss: float) -> None:
        if self._bar is not None:
            self._bar.set_postfix({"loss": f"{loss:.4f}"}, refresh=False)
            self._bar.update(1)

    def evaluation(self, rec: dict) -> None:
        if self.verbose <= 0:
            return
        text = (f"step {rec['step']} epoch {rec['epoch']:.2f} train {rec['train_time']:.1f}s: "
                f"train loss {rec['train_loss']:.4f}" +
                (f", validation {rec['val_loss']:.4f} nats/char" if rec["val_loss"] is not None else ""))
        if self._bar is not None:
            self._bar.write(f"SSMNLanguageModel.fit: {text}")
        else:
            print(f"SSMNLanguageModel.fit: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class SSMNLanguageModel(BaseEstimator):
    """Character-level language model on the Text-Native SSMN (see the module docstring).

    Parameters
    ----------
    embed_dim, hidden_dim, window_size, n_layers, plastic_ratio, rule, rule_params, chat_steps,
    tied, position_bias, residual, plasticity_eta, decay_lambda, clip, alpha, dtype
        The network, as in ``SSMN("text_native", ...)``; ``vocab_size`` comes from the text.
        The defaults (delta rule, eta 1, lambda 0.1, window 4, 2 chat steps) were the best of the
        configurations tried on Tiny Shakespeare in 30-40 s runs (see scripts/bench_charlm.py).
        ``position_bias`` and ``residual`` are on: after 90 s runs on Tiny Shakespeare (loaded
        machine) the validation loss was 2.24 with neither (208 Adam steps), 2.10 with the bias
        (195 steps), 2.11 with the residual (179) and 2.08 with both (117 steps).
    min_char_count : int, default 1
        Characters rarer than this in the training text become ``<unk>``.
    learning_rate : float, default 1e-2
        Adam step size (peak, with ``lr_schedule="cosine"``).
    lr_schedule : {"constant", "cosine"}, default "cosine"
        "cosine" decays to a tenth of ``learning_rate`` over ``max_epochs`` or, when it comes
        first, over ``max_time``.
    max_epochs : int, default 10
        Passes over the training text.
    max_time : float or None
        Wall-clock budget of ``fit`` in seconds (validation passes included); training stops at
        the first step that ends past it.
    batch_size : int, default 32
        Parallel streams over the training text.
    chunk_length : int, default 64
        Truncation length of back-propagation through time (the state is carried across chunks).
    max_grad_norm : float or None, default 1.0
        Global gradient-norm clipping.
    weight_decay : float, default 0.0
        Decoupled (AdamW-style) weight decay.
    validation_fraction : float in [0, 1), default 0.1
        Share of the token stream (its end) held out for validation; 0 disables validation.
    eval_every_steps, eval_every_seconds : int or float, optional
        Evaluate on the validation tail every so many optimiser steps or seconds of training
        time; with neither, once per epoch. There is always an evaluation at the end.
    n_jobs : int or None
        Threads per training step and validation pass (None: every available core).
    random_state : int, RandomState or None
        Seed of the initial parameters.
    verbose : int, default 0
        > 0 shows progress (a tqdm bar if tqdm is installed, else lines on stderr).

    Attributes
    ----------
    tokenizer_ : CharTokenizer
    model_ : SSMN
    vocab_size_ : int
    history_ : list of dict
        One record per evaluation: ``step``, ``epoch`` (fractional), ``train_time`` (seconds of
        training, validation passes excluded), ``wall_time``, ``train_loss`` (mean since the last
        record), ``val_loss`` (nats per character, or None without validation), ``lr``.
    best_val_loss_ : float or None
    n_steps_, n_epochs_ : int, float
    train_time_ : float — seconds of training (validation excluded).
    """

    _parameter_constraints: dict = {
        "embed_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_dim": [Interval(Integral, 1, None, closed="left")],
        "window_size": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "plastic_ratio": [Interval(Real, 0, 1, closed="both")],
        "rule": [str],
        "rule_params": [dict, None],
        "chat_steps": [Interval(Integral, 1, None, closed="left")],
        "tied": ["boolean"],
        "position_bias": ["boolean"],
        "residual": ["boolean"],
        "plasticity_eta": [Interval(Real, 0, None, closed="left")],
        "decay_lambda": [Interval(Real, 0, 1, closed="left")],
        "clip": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, None, None, closed="neither")],
        "dtype": [StrOptions({"float32", "float64"})],
        "min_char_count": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"constant", "cosine"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "max_time": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "chunk_length": [Interval(Integral, 1, None, closed="left")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "eval_every_steps": [Interval(Integral, 1, None, closed="left"), None],
        "eval_every_seconds": [Interval(Real, 0, None, closed="neither"), None],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, *, embed_dim=64, hidden_dim=128, window_size=4, n_layers=2,
                 plastic_ratio=0.5, rule="delta", rule_params=None, chat_steps=2, tied=False,
                 position_bias=True, residual=True, plasticity_eta=1.0, decay_lambda=0.1, clip=1.0, alpha=0.3, dtype="float32",
                 min_char_count=1, learning_rate=1e-2, lr_schedule="cosine", max_epochs=10,
                 max_time=None, batch_size=32, chunk_length=64, max_grad_norm=1.0,
                 weight_decay=0.0, validation_fraction=0.1, eval_every_steps=None,
                 eval_every_seconds=None, n_jobs=None, random_state=None, verbose=0):
        self.embed_dim = embed_dim
        self.hidden_dim = hidden_dim
        self.window_size = window_size
        self.n_layers = n_layers
        self.plastic_ratio = plastic_ratio
        self.rule = rule
        self.rule_params = rule_params
        self.chat_steps = chat_steps
        self.tied = tied
        self.position_bias = position_bias
        self.residual = residual
        self.plasticity_eta = plasticity_eta
        self.decay_lambda = decay_lambda
        self.clip = clip
        self.alpha = alpha
        self.dtype = dtype
        self.min_char_count = min_char_count
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.batch_size = batch_size
        self.chunk_length = chunk_length
        self.max_grad_norm = max_grad_norm
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.eval_every_steps = eval_every_steps
        self.eval_every_seconds = eval_every_seconds
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ helpers
    def _threads(self, limit: int) -> int:
        n = _n_cpus() if self.n_jobs is None else int(self.n_jobs)
        return max(1, min(n, limit))

    def _new_model(self, vocab_size: int, seed: int) -> SSMN:
        names = sorted(r["name"] for r in list_rules())
        if self.rule not in names:
            raise ConfigError(f"SSMNLanguageModel: rule must be one of {names}, got {self.rule!r}")
        return SSMN("text_native", vocab_size=vocab_size, embed_dim=self.embed_dim,
                    hidden_dim=self.hidden_dim, window_size=self.window_size, n_layers=self.n_layers,
                    plastic_ratio=self.plastic_ratio, rule=self.rule,
                    rule_params=dict(self.rule_params or {}), chat_steps=self.chat_steps,
                    tied=bool(self.tied), position_bias=bool(self.position_bias),
                    residual=bool(self.residual), plasticity_eta=self.plasticity_eta,
                    decay_lambda=self.decay_lambda, clip=self.clip, alpha=self.alpha,
                    dtype=self.dtype, seed=seed)

    def _encode_all(self, texts: list[str]) -> np.ndarray:
        return np.concatenate([self.tokenizer_.encode(t) for t in texts])

    @staticmethod
    def _segment_nll(model: SSMN, ids: np.ndarray, pool, n_pieces: int) -> tuple[float, int]:
        """(summed NLL, predictions) of next-token prediction over ``ids`` cut into ``n_pieces``
        contiguous pieces, each scored from a fresh state on its own thread."""
        n_pieces = max(1, min(n_pieces, (ids.size - 1) // 2))
        bounds = np.linspace(0, ids.size - 1, n_pieces + 1).astype(int)

        def piece(i):
            a, b = bounds[i], bounds[i + 1]
            return _log_softmax_nll(model.forward(ids[a:b]), ids[a + 1:b + 1]), b - a

        parts = list(pool.map(piece, range(n_pieces))) if pool is not None and n_pieces > 1 else \
            [piece(i) for i in range(n_pieces)]
        return sum(p[0] for p in parts), sum(p[1] for p in parts)

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, texts, y=None):
        """Learn the vocabulary and train on ``texts`` (a str or a list of str); ``y`` is ignored.

        Returns self."""
        texts = check_texts(texts)
        self.tokenizer_ = CharTokenizer(self.min_char_count).fit(texts)
        self.vocab_size_ = self.tokenizer_.vocab_size
        ids = self._encode_all(texts)
        n_val = int(round(ids.size * self.validation_fraction)) if self.validation_fraction > 0 else 0
        if n_val and n_val < 2:
            raise InputError(f"validation_fraction={self.validation_fraction} of {ids.size} tokens "
                             "leaves fewer than 2 for validation. HINT: give more text or set "
                             "validation_fraction=0.")
        train_ids, val_ids = (ids[:-n_val], ids[-n_val:]) if n_val else (ids, None)
        if train_ids.size < 2:
            raise InputError(f"the training text has {train_ids.size} token(s) after the validation "
                             "split; at least 2 are needed (one to read, one to predict)")
        rng = check_random_state(self.random_state)
        self.model_ = self._new_model(self.vocab_size_, int(rng.randint(np.iinfo(np.int32).max)))

        B = min(self.batch_size, train_ids.size - 1)
        L = (train_ids.size - 1) // B
        X = train_ids[:B * L].reshape(B, L)
        Y = train_ids[1:B * L + 1].reshape(B, L)
        T = min(self.chunk_length, L)
        starts = list(range(0, L, T))
        n_threads = self._threads(B)
        groups = [g for g in np.array_split(np.arange(B), n_threads) if g.size]
        weights = [g.size / B for g in groups]
        total_steps = self.max_epochs * len(starts)

        model = self.model_
        opt = Adam(model.n_parameters, lr=self.learning_rate, max_grad_norm=self.max_grad_norm,
                   weight_decay=self.weight_decay)
        self.history_, self.best_val_loss_ = [], None
        best_params = None
        t_fit = time.perf_counter()
        train_time, step, last_eval_time, last_eval_step = 0.0, 0, 0.0, 0
        loss_sum, loss_n = 0.0, 0
        progress = _Progress(self.verbose, total_steps)
        pool = concurrent.futures.ThreadPoolExecutor(max(len(groups), self._threads(8)))

        def lr_at() -> float:
            if self.lr_schedule == "constant":
                return self.learning_rate
            p = step / total_steps
            if self.max_time is not None:
                p = max(p, (time.perf_counter() - t_fit) / self.max_time)
            p = min(1.0, p)
            return self.learning_rate * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * p)))

        def evaluate(epoch: float) -> None:
            nonlocal loss_sum, loss_n, last_eval_time, last_eval_step, best_params
            val = None
            if val_ids is not None:
                nll, n = self._segment_nll(model, val_ids, pool, len(groups))
                val = float(nll / n)
                if self.best_val_loss_ is None or val < self.best_val_loss_:
                    self.best_val_loss_, best_params = val, model.get_parameters()
            rec = {"step": step, "epoch": epoch, "train_time": train_time,
                   "wall_time": time.perf_counter() - t_fit,
                   "train_loss": float(loss_sum / loss_n) if loss_n else float("nan"), "val_loss": val,
                   "lr": float(opt.lr)}
            self.history_.append(rec)
            progress.evaluation(rec)
            loss_sum, loss_n, last_eval_time, last_eval_step = 0.0, 0, train_time, step

        def run(i, t0, state):
            g = groups[i]
            return model.value_and_grad(X[g, t0:t0 + T], Y[g, t0:t0 + T], loss="cross_entropy",
                                        state=state, return_state=True)

        try:
            stop, epoch = False, 0
            while epoch < self.max_epochs and not stop:
                states = [None] * len(groups)
                for k, t0 in enumerate(starts):
                    tick = time.perf_counter()
                    opt.lr = lr_at()
                    results = list(pool.map(run, range(len(groups)), [t0] * len(groups), states))
                    loss = sum(w * r[0] for w, r in zip(weights, results))
                    grad = results[0][1] * weights[0]
                    for w, r in zip(weights[1:], results[1:]):
                        grad += w * r[1]
                    states = [r[2] for r in results]
                    if not (math.isfinite(loss) and np.all(np.isfinite(grad))):
                        raise FloatingPointError(
                            f"SSMNLanguageModel.fit: the loss or gradient became non-finite at step "
                            f"{step + 1}. HINT: lower learning_rate or set max_grad_norm.")
                    model.set_parameters(opt.step(model.get_parameters(), grad))
                    step += 1
                    loss_sum, loss_n = loss_sum + loss, loss_n + 1
                    train_time += time.perf_counter() - tick
                    progress.step(loss)
                    out_of_time = (self.max_time is not None and
                                   time.perf_counter() - t_fit >= self.max_time)
                    last = out_of_time or (epoch + 1 == self.max_epochs and k + 1 == len(starts))
                    due = ((self.eval_every_steps is not None and step - last_eval_step >= self.eval_every_steps) or
                           (self.eval_every_seconds is not None and
                            train_time - last_eval_time >= self.eval_every_seconds) or
                           (self.eval_every_steps is None and self.eval_every_seconds is None and
                            k + 1 == len(starts)))
                    if due or last:
                        evaluate(epoch + (k + 1) / len(starts))
                    if out_of_time:
                        stop = True
                        break
                epoch += 1
        finally:
            pool.shutdown(wait=True)
            progress.close()
        if best_params is not None:
            model.set_parameters(best_params)
        self.n_steps_, self.train_time_ = step, train_time
        self.n_epochs_ = self.history_[-1]["epoch"] if self.history_ else 0.0
        return self

    # ------------------------------------------------------------------ scoring
    def _nll(self, texts) -> tuple[float, int]:
        check_is_fitted(self, "model_")
        texts = check_texts(texts, allow_empty_text=True)
        total, n = 0.0, 0
        for t in texts:
            if not t:
                continue
            ids = self.tokenizer_.encode(t)
            state = None
            # pieces of a long text carry the state, so the logits never exceed _SCORE_PIECE rows
            for a in range(0, ids.size - 1, _SCORE_PIECE):
                b = min(ids.size - 1, a + _SCORE_PIECE)
                logits, state = self.model_.forward(ids[a:b], state=state, return_state=True)
                total += _log_softmax_nll(logits, ids[a + 1:b + 1])
            n += ids.size - 1
        if n == 0:
            raise InputError("texts hold no characters to score")
        return total, n

    def score(self, texts, y=None) -> float:
        """Mean negative log-likelihood in nats per character (lower is better) of ``texts`` (a
        str or a list of str), each read from a fresh state after ``<bos>``; every character counts,
        unknown ones as ``<unk>``. ``y`` is ignored."""
        total, n = self._nll(texts)
        return total / n

    def bits_per_char(self, texts) -> float:
        """:meth:`score` in bits: nats per character / ln 2."""
        return self.score(texts) / math.log(2.0)

    def perplexity(self, texts) -> float:
        """Per-character perplexity, exp(:meth:`score`)."""
        return math.exp(self.score(texts))

    # ------------------------------------------------------------------ generation
    def generate(self, prompt: str = "", max_new_tokens: int = 200, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, seed=None) -> str:
        """Continue ``prompt`` by up to ``max_new_tokens`` sampled characters; returns the new text
        only. ``temperature=0`` is greedy; ``seed`` makes sampling repeatable. Generation stops
        early if the model predicts the start of a new text (``<bos>``)."""
        check_is_fitted(self, "model_")
        if not isinstance(prompt, str):
            raise InputError(f"prompt must be a str, got {type(prompt).__name__}")
        ids = self.model_.generate(self.tokenizer_.encode(prompt), max_new_tokens,
                                   temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
        return self.tokenizer_.decode(ids, stop_at_bos=True)

    # ------------------------------------------------------------------ files
    def _fitted_json(self) -> dict:
        return {k: getattr(self, k) for k in ("vocab_size_", "history_", "best_val_loss_", "n_steps_",
                                              "n_epochs_", "train_time_") if hasattr(self, k)}

    def save(self, path) -> None:
        """Write the fitted model to the directory ``path`` (created if needed): ``model.ssmn``
        (weights, :meth:`SSMN.save` format) and ``language_model.json`` (parameters, vocabulary,
        training history). Both are written atomically, JSON last; nothing in them is executable."""
        check_is_fitted(self, "model_")
        path = pathlib.Path(path)
        if path.exists() and not path.is_dir():
            raise InputError(f"save path {str(path)!r} exists and is not a directory")
        path.mkdir(parents=True, exist_ok=True)
        params = self.get_params()
        if not (params["random_state"] is None or isinstance(params["random_state"], numbers.Integral)):
            params["random_state"] = None  # a RandomState instance is not JSON; it only seeded fit
        meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "params": params,
                "tokenizer": self.tokenizer_.to_dict(), "fitted": self._fitted_json(),
                "model_sha256": parameters_digest(self.model_.get_parameters())}
        meta["sha256"] = _json_digest(meta)
        blob = json.dumps(meta, sort_keys=True, indent=1).encode()
        self.model_.save(path / MODEL_FILE)
        atomic_write(path / META_FILE, lambda f: f.write(blob))

    @classmethod
    def load(cls, path) -> "SSMNLanguageModel":
        """Read a model written by :meth:`save`; raises ModelFileError for anything malformed."""
        path = pathlib.Path(path)
        meta_path = path / META_FILE
        if not meta_path.is_file():
            raise ModelFileError(f"{str(path)!r} is not a saved SSMNLanguageModel (no {META_FILE})")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelFileError(f"{str(meta_path)!r} is not valid JSON: {e}") from e
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
            raise ModelFileError(f"{str(meta_path)!r} is not an SSMNLanguageModel file")
        version = meta.get("format_version")
        if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
            raise ModelFileError(f"{str(meta_path)!r} has format version {version!r}; this ssmn_rl "
                                 f"reads versions 1..{FORMAT_VERSION}")
        if "sha256" in meta and meta["sha256"] != _json_digest(meta):
            raise ModelFileError(f"{str(meta_path)!r}: checksum mismatch (file corrupted)")
        try:
            est = cls(**meta["params"])
        except (TypeError, KeyError) as e:
            raise ModelFileError(f"{str(meta_path)!r}: invalid estimator parameters: {e}") from e
        est.tokenizer_ = CharTokenizer.from_dict(meta.get("tokenizer"))
        est.model_ = SSMN.load(path / MODEL_FILE)
        cfg = est.model_.config
        if cfg.variant != "text_native" or cfg.vocab_size != est.tokenizer_.vocab_size:
            raise ModelFileError(f"{str(path)!r}: the weights (variant {cfg.variant!r}, vocab_size "
                                 f"{cfg.vocab_size}) do not match the vocabulary "
                                 f"({est.tokenizer_.vocab_size} ids)")
        weights = parameters_digest(est.model_.get_parameters())
        if "model_sha256" in meta and weights != meta["model_sha256"]:
            raise ModelFileError(f"{str(path / MODEL_FILE)!r} is not the model that {META_FILE} was saved "
                                 "with (a save interrupted between the two files, or files mixed from two "
                                 "saves). HINT: save the language model again.")
        for k, v in (meta.get("fitted") or {}).items():
            if k in ("vocab_size_", "history_", "best_val_loss_", "n_steps_", "n_epochs_", "train_time_"):
                setattr(est, k, v)
        est.vocab_size_ = est.tokenizer_.vocab_size
        return est
