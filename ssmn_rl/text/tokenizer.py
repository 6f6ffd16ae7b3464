"""Character-level tokenizer for :class:`~ssmn_rl.text.SSMNLanguageModel`.

The vocabulary is learnt from training text: two reserved ids come first, then every character
seen at least ``min_count`` times, in code-point order (so the same text always gives the same
ids, whatever order the texts came in):

* id 0, ``<unk>`` — any character outside the vocabulary (decoded as U+FFFD, the replacement
  character);
* id 1, ``<bos>`` — the start of a text. Every text is encoded as ``<bos>`` followed by its
  characters, so a model also predicts the first character of a text; generated text ends when the
  model samples ``<bos>`` (the start of the next text).

The vocabulary round-trips through plain JSON (:meth:`CharTokenizer.to_dict` /
:meth:`CharTokenizer.from_dict`), so a saved model never needs pickle to load.
"""
from __future__ import annotations

import collections
import numbers

import numpy as np

from ..errors import InputError, ModelFileError

UNK, BOS = 0, 1
SPECIAL_TOKENS = ("<unk>", "<bos>")
#: What an ``<unk>`` id decodes to.
REPLACEMENT_CHAR = "\ufffd"


def check_texts(texts, name: str = "texts", allow_empty_text: bool = False) -> list[str]:
    """A list of str from one str or an iterable of str, refusing anything else with InputError.

    Empty texts are refused unless ``allow_empty_text`` (an empty collection always is)."""
    if isinstance(texts, str):
        out = [texts]
    elif isinstance(texts, (bytes, bytearray)):
        raise InputError(f"{name} must be str (or a list of str), got {type(texts).__name__}. "
                         "HINT: decode bytes first, e.g. data.decode('utf-8').")
    else:
        try:
            out = list(texts)
        except TypeError:
            raise InputError(f"{name} must be a str or a list of str, got {type(texts).__name__}") from None
        for i, t in enumerate(out):
            if not isinstance(t, str):
                raise InputError(f"{name}[{i}] must be a str, got {type(t).__name__}")
    if not out:
        raise InputError(f"{name} is empty: give at least one text")
    if not allow_empty_text and not any(out):
        raise InputError(f"{name} holds only empty strings: there are no characters to learn from")
    return out


class CharTokenizer:
    """Maps characters to integer ids and back (see the module docstring for the id layout).

    Parameters
    ----------
    min_count : int, default 1
        Characters seen fewer times than this in :meth:`fit` become ``<unk>`` (so the model
        learns what to do with rare characters).

    Attributes (after fit)
    ----------------------
    chars_ : list of str — the vocabulary characters; id ``i + 2`` is ``chars_[i]``.
    vocab_size : int — ``len(chars_) + 2``.
    """

    def __init__(self, min_count: int = 1):
        if isinstance(min_count, bool) or not isinstance(min_count, numbers.Integral) or min_count < 1:
            raise InputError(f"min_count must be an integer >= 1, got {min_count!r}")
        self.min_count = int(min_count)
        self.chars_: list[str] | None = None
        self._index: dict[str, int] = {}
        self._table: np.ndarray | None = None

    # ------------------------------------------------------------------ vocabulary
    def fit(self, texts) -> "CharTokenizer":
        texts = check_texts(texts)
        counts = collections.Counter()
        for t in texts:
            counts.update(t)
        chars = sorted(c for c, n in counts.items() if n >= self.min_count)
        self._set_chars(chars)
        return self

    def _set_chars(self, chars) -> None:
        if len(set(chars)) != len(chars) or not all(isinstance(c, str) and len(c) == 1 for c in chars):
            raise InputError("the vocabulary must be a list of distinct single characters")
        self.chars_ = list(chars)
        self._index = {c: i + len(SPECIAL_TOKENS) for i, c in enumerate(self.chars_)}
        # Fast path for encode: code point -> id for characters below U+10000 (the rest use the dict).
        limit = max([ord(c) for c in self.chars_ if ord(c) < 0x10000], default=0) + 1
        table = np.full(limit, UNK, np.int32)
        for c, i in self._index.items():
            if ord(c) < limit:
                table[ord(c)] = i
        self._table = table

    def _require_fit(self) -> None:
        if self.chars_ is None:
            raise InputError("this CharTokenizer has no vocabulary yet: call fit(texts) first")

    @property
    def vocab_size(self) -> int:
        self._require_fit()
        return len(self.chars_) + len(SPECIAL_TOKENS)

    # ------------------------------------------------------------------ encode / decode
    def encode(self, text: str, bos: bool = True) -> np.ndarray:
        """Ids (int32) of ``text``, preceded by ``<bos>`` when ``bos``; unknown characters -> 0."""
        self._require_fit()
        if not isinstance(text, str):
            raise InputError(f"text must be a str, got {type(text).__name__}")
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        table = self._table
        inside = codes < table.size
        ids = np.full(codes.size, UNK, np.int32)
        ids[inside] = table[codes[inside]]
        if (~inside).any():  # characters beyond the table (astral planes or above every known one)
            for i in np.flatnonzero(~inside):
                ids[i] = self._index.get(chr(codes[i]), UNK)
        if bos:
            ids = np.concatenate([np.array([BOS], np.int32), ids])
        return ids

    def decode(self, ids, stop_at_bos: bool = False) -> str:
        """Text of token ids: ``<unk>`` becomes U+FFFD, ``<bos>`` is dropped (or ends the text
        when ``stop_at_bos``)."""
        self._require_fit()
        arr = np.asarray(ids)
        if arr.dtype.kind not in "iu" or arr.ndim != 1:
            raise InputError(f"ids must be a 1-D array of integer ids, got {arr.dtype} {arr.shape}")
        V = self.vocab_size
        if arr.size and (arr.min() < 0 or arr.max() >= V):
            raise InputError(f"ids must be in [0, {V}) (vocab_size), got range [{arr.min()}, {arr.max()}]")
        out = []
        for i in arr.tolist():
            if i == BOS:
                if stop_at_bos:
                    break
                continue
            out.append(REPLACEMENT_CHAR if i == UNK else self.chars_[i - len(SPECIAL_TOKENS)])
        return "".join(out)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        self._require_fit()
        return {"type": "char", "min_count": self.min_count, "special_tokens": list(SPECIAL_TOKENS),
                "chars": "".join(self.chars_)}

    @classmethod
    def from_dict(cls, d) -> "CharTokenizer":
        """Rebuild from :meth:`to_dict` output, refusing anything malformed with ModelFileError."""
        if not isinstance(d, dict) or d.get("type") != "char" or not isinstance(d.get("chars"), str):
            raise ModelFileError(f"not a character vocabulary: {str(d)[:80]!r}")
        if d.get("special_tokens") != list(SPECIAL_TOKENS):
            raise ModelFileError(f"unknown special tokens {d.get('special_tokens')!r}; this version "
                                 f"uses {list(SPECIAL_TOKENS)}")
        try:
            tok = cls(min_count=d.get("min_count", 1))
            tok._set_chars(list(d["chars"]))
        except InputError as e:
            raise ModelFileError(f"invalid character vocabulary: {e}") from e
        return tok

    def __getstate__(self):
        return {"min_count": self.min_count, "chars": self.chars_}

    def __setstate__(self, d):
        self.min_count, self.chars_, self._index, self._table = d["min_count"], None, {}, None
        if d["chars"] is not None:
            self._set_chars(d["chars"])

    def __repr__(self) -> str:
        n = "unfitted" if self.chars_ is None else f"vocab_size={self.vocab_size}"
        return f"CharTokenizer(min_count={self.min_count}, {n})"
