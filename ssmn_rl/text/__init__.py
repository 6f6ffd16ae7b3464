"""Text on the Text-Native SSMN: a character tokenizer and :class:`SSMNLanguageModel`, a
scikit-learn-style language model with ``fit(texts)``, ``score`` (nats per character),
``bits_per_char``, ``generate`` and ``save``/``load``.

>>> from ssmn_rl.text import SSMNLanguageModel
>>> lm = SSMNLanguageModel(hidden_dim=32, embed_dim=16, window_size=8, max_epochs=1,
...                        random_state=0).fit("to be or not to be, that is the question. " * 20)
>>> lm.score("to be") > 0
True
"""
from .language_model import SSMNLanguageModel
from .tokenizer import BOS, SPECIAL_TOKENS, UNK, CharTokenizer

__all__ = ["SSMNLanguageModel", "CharTokenizer", "SPECIAL_TOKENS", "UNK", "BOS"]
