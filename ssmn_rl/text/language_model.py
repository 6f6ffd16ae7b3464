"""``SSMNLanguageModel``: a character-level language model on the Text-Native SSMN, as a
scikit-learn-style estimator over plain text.

Training (``fit``)
------------------
The texts are encoded with a :class:`~ssmn_rl.text.CharTokenizer` learnt from them (each text is
``<bos>`` + its characters) and concatenated into one token stream. Its last
``validation_fraction`` is held out. The rest is cut into ``batch_size`` contiguous streams that are
read in parallel, ``chunk_length`` tokens at a time: truncated back-propagation through time, with
each stream's state (attention window and fast weights) carried from one chunk to the next, and
Adam on the mean next-token cross-entropy. Each step's batch is split across ``n_jobs`` Python
threads (the C kernels release the GIL), each call on one kernel thread, and the gradients
averaged; that measured faster here than one kernel call on ``n_jobs`` threads (``SPLIT_BATCH``).

The validation tail is scored in ``n_jobs`` contiguous pieces, one per thread, each from a fresh
state. ``history_`` records the validation loss (nats per character) against the training time;
with validation the parameters with the best validation loss are kept at the end.

Scoring. ``score`` follows scikit-learn's "greater is better" convention: it is the *negative*
mean number of nats per character, so ``GridSearchCV`` and ``cross_val_score`` pick the model with
the lowest loss. For people, :meth:`SSMNLanguageModel.nats_per_char`,
:meth:`~SSMNLanguageModel.bits_per_char` and :meth:`~SSMNLanguageModel.perplexity` give the loss
itself (lower is better).

The network's options are the shared :data:`ssmn_rl.options.MODEL_OPTIONS` (with this model's
defaults) and the training runs on the shared :class:`ssmn_rl.training.Trainer`.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import math
import numbers
import os
import pathlib
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..errors import ConfigError, InputError, ModelFileError
from ..model import SSMN
from ..options import (MODEL_OPTIONS, RANDOM_STATE, TOKEN_OPTIONS, TRAINING_OPTIONS, VERBOSE, Option,
                       declare, model_kwargs, with_defaults, without)
from ..plugin_manager import list_rules
from ..serialization import atomic_write, parameters_digest
from ..training import Trainer
from .tokenizer import CharTokenizer, check_texts

FORMAT_NAME = "ssmn_rl.text.language_model"
FORMAT_VERSION = 1
MODEL_FILE, META_FILE = "model.ssmn", "language_model.json"
#: The top-level entries of META_FILE.
_META_KEYS = {"format", "format_version", "params", "tokenizer", "fitted", "model_sha256", "sha256"}
#: score() reads long texts in pieces of this many tokens (state carried), bounding the logits held.
_SCORE_PIECE = 1 << 16
#: True: each training step's batch is split across n_jobs Python threads, each call on one kernel
#: thread; False: one kernel call on n_jobs threads. Chosen by ``python scripts/bench_charlm.py
#: --threading --minutes 1`` (2 cores, batch 32 x 64): split 9.92 steps/s, one call 7.71.
SPLIT_BATCH = True


def _json_digest(meta: dict) -> str:
    """SHA-256 of the canonical JSON of `meta` without its own "sha256" entry."""
    body = {k: v for k, v in meta.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _n_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: The network: the shared SSMN options (the variant is always "text_native") with this model's
#: defaults, and the token options.
_NETWORK = with_defaults(without(MODEL_OPTIONS, "variant"), hidden_dim=128, window_size=4, n_layers=2,
                         plastic_ratio=0.5, rule="delta", chat_steps=1, clip=math.inf,
                         plasticity_eta=1.0, decay_lambda=0.1)

LM_OPTIONS: tuple[Option, ...] = (
    *TOKEN_OPTIONS, *_NETWORK,
    Option("min_char_count", 1, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Characters rarer than this in the training text become ``<unk>``."),
    *with_defaults(TRAINING_OPTIONS, lr_schedule="cosine"),
    Option("max_epochs", 10, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Passes over the training text."),
    Option("batch_size", 32, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Parallel streams over the training text."),
    Option("chunk_length", 64, [Interval(Integral, 1, None, closed="left")], "int >= 1",
           "Truncation length of back-propagation through time (the state is carried across "
           "chunks)."),
    Option("validation_fraction", 0.1, [Interval(Real, 0, 1, closed="left")], "float in [0, 1)",
           "Share of the token stream (its end) held out for validation; 0 disables validation."),
    Option("eval_every_steps", None, [Interval(Integral, 1, None, closed="left"), None], "int >= 1 or None",
           "Evaluate on the validation tail every so many optimiser steps; with neither this nor "
           "``eval_every_seconds``, once per epoch. There is always an evaluation at the end."),
    Option("eval_every_seconds", None, [Interval(Real, 0, None, closed="neither"), None],
           "float > 0 or None", "Evaluate every so many seconds of training time."),
    Option("n_jobs", None, [Interval(Integral, 1, None, closed="left"), None], "int >= 1 or None",
           "Threads per training step and validation pass (None: every available core)."),
    dataclasses.replace(RANDOM_STATE, doc="Seed of the initial parameters."),
    VERBOSE,
)


def _log_softmax_nll(logits: np.ndarray, targets: np.ndarray) -> float:
    """Sum over positions of -log softmax(logits)[target] (float64)."""
    z = logits.astype(np.float64, copy=False)
    m = z.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(z - m).sum(axis=-1)) + m[..., 0]
    picked = np.take_along_axis(z, targets[..., None].astype(np.int64), axis=-1)[..., 0]
    return float((lse - picked).sum())


@declare(LM_OPTIONS)
class SSMNLanguageModel(BaseEstimator):
    """Character-level language model on the Text-Native SSMN (see the module docstring).

    The network's defaults (delta rule, eta 1, lambda 0.1, window 4) were the best of the
    configurations tried on Tiny Shakespeare in 30-40 s runs (see scripts/bench_charlm.py). One
    read of the fast weights per step and no clip (``chat_steps=1, clip=inf``) let the plastic
    layer train chunkwise: in 3-minute runs on one thread it made 1.58x the optimiser steps of
    ``chat_steps=2, clip=1`` and reached a lower validation loss (1.833 against 1.864 nats/char).
    ``position_bias`` and ``residual`` are on: after 90 s runs on Tiny Shakespeare (loaded machine)
    the validation loss was 2.24 with neither (208 Adam steps), 2.10 with the bias (195 steps),
    2.11 with the residual (179) and 2.08 with both (117 steps).

    Parameters
    ----------
    {parameters}

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

    # ------------------------------------------------------------------ helpers
    def _threads(self, limit: int) -> int:
        n = _n_cpus() if self.n_jobs is None else int(self.n_jobs)
        return max(1, min(n, limit))

    def _new_model(self, vocab_size: int, seed: int) -> SSMN:
        names = sorted(r["name"] for r in list_rules())
        if self.rule not in names:
            raise ConfigError(f"SSMNLanguageModel: rule must be one of {names}, got {self.rule!r}")
        return SSMN("text_native", vocab_size=vocab_size, seed=seed,
                    **model_kwargs(self, (*TOKEN_OPTIONS, *_NETWORK)))

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
        # the batch in one kernel call on n_threads OpenMP threads, or split across Python threads
        # each running one-thread calls (SPLIT_BATCH; scripts/bench_charlm.py --threading measures both)
        groups = [g for g in np.array_split(np.arange(B), n_threads if SPLIT_BATCH else 1) if g.size]
        weights = [g.size / B for g in groups]
        model = self.model_
        train_threads = 1 if SPLIT_BATCH else n_threads
        model.n_threads = train_threads
        pool = concurrent.futures.ThreadPoolExecutor(max(n_threads, self._threads(8)))

        def run(i, t0, state):
            g = groups[i]
            return model.value_and_grad(X[g, t0:t0 + T], Y[g, t0:t0 + T], loss="cross_entropy",
                                        state=state, return_state=True)

        def batches(epoch: int):
            """One epoch: every chunk of the B streams, the batch split across the threads and the
            gradients averaged; each stream's state carried from chunk to chunk."""
            states = [None] * len(groups)
            for t0 in starts:
                results = list(pool.map(run, range(len(groups)), [t0] * len(groups), states))
                loss = sum(w * r[0] for w, r in zip(weights, results))
                grad = results[0][1] * weights[0]
                for w, r in zip(weights[1:], results[1:]):
                    grad += w * r[1]
                states = [r[2] for r in results]
                yield loss, grad, 1.0

        def validate() -> float:
            # one stream: its pieces on Python threads, one kernel thread each
            model.n_threads = 1
            try:
                nll, n = self._segment_nll(model, val_ids, pool, n_threads)
            finally:
                model.n_threads = train_threads
            return float(nll / n)

        trainer = Trainer.from_estimator(self, max_epochs=self.max_epochs,
                                         eval_every_steps=self.eval_every_steps,
                                         eval_every_seconds=self.eval_every_seconds,
                                         desc="SSMNLanguageModel.fit", loss_units=" nats/char")
        try:
            result, _ = trainer.run(model, batches, steps_per_epoch=len(starts),
                                    validate=None if val_ids is None else validate)
        finally:
            pool.shutdown(wait=True)
            model.n_threads = n_threads
        self.history_, self.best_val_loss_ = result.history, result.best_val_loss
        self.n_steps_, self.train_time_ = result.n_steps, result.train_time
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
        """Negative mean log-likelihood per character, ``-nats_per_char(texts)``: greater is better,
        as scikit-learn's model selection expects (``GridSearchCV``, ``cross_val_score``).

        Parameters
        ----------
        texts : str or list of str
            Each text is read from a fresh state after ``<bos>``; every character counts, unknown
            ones as ``<unk>``.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Minus the mean number of nats per character (at most 0).
        """
        return -self.nats_per_char(texts)

    def nats_per_char(self, texts) -> float:
        """Mean negative log-likelihood in nats per character of ``texts`` (lower is better): the
        loss that :meth:`score` negates."""
        total, n = self._nll(texts)
        return total / n

    def bits_per_char(self, texts) -> float:
        """:meth:`nats_per_char` in bits: nats per character / ln 2 (lower is better)."""
        return self.nats_per_char(texts) / math.log(2.0)

    def perplexity(self, texts) -> float:
        """Per-character perplexity, exp(:meth:`nats_per_char`) (lower is better)."""
        return math.exp(self.nats_per_char(texts))

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
        unknown = sorted(set(meta) - _META_KEYS)
        if unknown:  # e.g. a damaged key name, which would also hide an entry such as the checksum
            raise ModelFileError(f"{str(meta_path)!r} has unknown entries {unknown} (file corrupted, "
                                 f"or written by a newer ssmn_rl)")
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
