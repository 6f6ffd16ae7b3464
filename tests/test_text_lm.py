"""ssmn_rl.text: the character tokenizer and SSMNLanguageModel (fit, score, generate, files)."""
import math
import pickle
import time

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from ssmn_rl import ConfigError, InputError, ModelFileError
from ssmn_rl.text import BOS, UNK, CharTokenizer, SSMNLanguageModel


def _corpus(n_sentences=260, seed=0) -> str:
    """Small synthetic English with strong character structure (fixed words, spaces, periods)."""
    rng = np.random.default_rng(seed)
    subj, verb, obj = ["the cat", "a dog", "my old friend", "she"], ["sat on", "ran to", "looked at"], \
        ["the mat", "a tree", "the house", "his hat"]
    return " ".join(f"{rng.choice(subj)} {rng.choice(verb)} {rng.choice(obj)}." for _ in range(n_sentences))


TEXT = _corpus()
SMALL = dict(embed_dim=16, hidden_dim=32, window_size=4, n_layers=2, plastic_ratio=0.5, rule="delta",
             plasticity_eta=1.0, decay_lambda=0.1, learning_rate=1e-2, batch_size=8, chunk_length=32,
             validation_fraction=0.1, random_state=0)


def _unigram_entropy(train: str, test: str) -> float:
    """Cross-entropy (nats/char) of `test` under `train`'s character frequencies (add-one)."""
    chars = sorted(set(train) | set(test))
    counts = {c: train.count(c) + 1 for c in chars}
    total = sum(counts.values())
    return -sum(math.log(counts[c] / total) for c in test) / len(test)


@pytest.fixture(scope="module")
def fitted():
    return SSMNLanguageModel(max_epochs=6, **SMALL).fit(TEXT)


# ---------------------------------------------------------------- tokenizer
def test_tokenizer_round_trip_and_layout():
    tok = CharTokenizer().fit(["hello", "world"])
    assert tok.chars_ == sorted(set("helloworld"))
    assert tok.vocab_size == len(set("helloworld")) + 2
    ids = tok.encode("hello")
    assert ids.dtype == np.int32 and ids[0] == BOS and ids.size == 6
    assert tok.decode(ids) == "hello"
    assert CharTokenizer().fit(["world", "hello"]).chars_ == tok.chars_  # order-independent ids


def test_tokenizer_unknown_and_astral_characters():
    tok = CharTokenizer().fit("ab\U0001F600")
    ids = tok.encode("a?\U0001F600z", bos=False)
    assert ids.tolist()[1] == UNK and ids.tolist()[3] == UNK
    assert tok.decode(ids) == "a\ufffd\U0001F600\ufffd"
    assert tok.decode(np.array([BOS, 2, BOS, 3]), stop_at_bos=False) == "ab"
    assert tok.decode(np.array([2, BOS, 3]), stop_at_bos=True) == "a"


def test_tokenizer_min_count_and_json():
    tok = CharTokenizer(min_count=2).fit("aab")
    assert tok.chars_ == ["a"] and tok.encode("b", bos=False).tolist() == [UNK]
    again = CharTokenizer.from_dict(tok.to_dict())
    assert again.chars_ == tok.chars_ and again.min_count == 2
    with pytest.raises(ModelFileError):
        CharTokenizer.from_dict({"type": "char", "chars": "aa", "special_tokens": ["<unk>", "<bos>"]})
    with pytest.raises(ModelFileError):
        CharTokenizer.from_dict({"type": "bpe"})


def test_tokenizer_refuses_bad_input():
    with pytest.raises(InputError, match="fit"):
        CharTokenizer().encode("a")
    tok = CharTokenizer().fit("ab")
    with pytest.raises(InputError):
        tok.encode(b"ab")
    with pytest.raises(InputError):
        tok.decode(np.array([0, 99]))
    with pytest.raises(InputError):
        CharTokenizer(min_count=0)


# ---------------------------------------------------------------- fit / score
def test_fit_beats_unigram_entropy(fitted):
    n_val = int(round((len(TEXT) + 1) * 0.1))
    train, val = TEXT[:len(TEXT) + 1 - n_val], TEXT[len(TEXT) + 1 - n_val:]
    h_unigram = _unigram_entropy(train, val)
    first, best = fitted.history_[0]["val_loss"], fitted.best_val_loss_
    assert best < h_unigram - 0.4, (best, h_unigram)
    assert best <= first
    assert fitted.nats_per_char(val) < h_unigram - 0.4
    rec = fitted.history_[-1]
    assert set(rec) == {"step", "epoch", "train_time", "wall_time", "train_loss", "val_loss", "lr"}
    assert fitted.n_steps_ == rec["step"] and fitted.n_epochs_ == pytest.approx(6.0)
    assert fitted.vocab_size_ == len(set(TEXT)) + 2


def test_score_matches_manual_computation_and_bits(fitted):
    text = "the cat looked at his hat."
    ids = fitted.tokenizer_.encode(text)
    logits = fitted.model_.forward(ids[:-1]).astype(np.float64)
    logp = logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True)) \
        - logits.max(1, keepdims=True)
    manual = -logp[np.arange(len(text)), ids[1:]].mean()
    s = fitted.nats_per_char(text)
    assert s == pytest.approx(manual, rel=1e-6)
    assert fitted.score(text) == -s  # greater is better, as scikit-learn's model selection expects
    assert fitted.bits_per_char(text) == pytest.approx(s / math.log(2), rel=1e-12)
    assert fitted.perplexity(text) == pytest.approx(math.exp(s), rel=1e-12)
    # several texts: total NLL over total characters, empty texts contribute nothing
    a, b = "the cat sat.", "she ran to a tree."
    combined = (fitted.nats_per_char(a) * len(a) + fitted.nats_per_char(b) * len(b)) / (len(a) + len(b))
    assert fitted.nats_per_char([a, "", b]) == pytest.approx(combined, rel=1e-9)


def test_unknown_characters_are_scored_as_unk(fitted):
    known, unknown = fitted.nats_per_char("the cat."), fitted.nats_per_char("the cat#")
    assert np.isfinite(unknown) and unknown > known  # '#' never seen: <unk> is improbable
    out = fitted.generate("the Zebra", 20, seed=0)  # unknown prompt characters are fine
    assert isinstance(out, str) and "Z" not in out


def test_min_char_count_teaches_unk():
    text = TEXT + " qx"  # 'q' and 'x' appear once
    lm = SSMNLanguageModel(max_epochs=1, min_char_count=2, **SMALL).fit(text)
    assert "q" not in lm.tokenizer_.chars_ and "x" not in lm.tokenizer_.chars_
    assert np.isfinite(lm.score("q"))


def test_two_threads_match_one_thread():
    kw = dict(SMALL, dtype="float64", max_epochs=1)
    a = SSMNLanguageModel(n_jobs=1, **kw).fit(TEXT)
    b = SSMNLanguageModel(n_jobs=2, **kw).fit(TEXT)
    assert a.n_steps_ == b.n_steps_
    np.testing.assert_allclose(a.model_.get_parameters(), b.model_.get_parameters(), rtol=1e-7, atol=1e-9)


def test_max_time_stops_training():
    lm = SSMNLanguageModel(max_epochs=10_000, max_time=1.0, eval_every_steps=5, **SMALL)
    t0 = time.perf_counter()
    lm.fit(TEXT * 4)
    assert time.perf_counter() - t0 < 10.0
    assert lm.history_[-1]["wall_time"] >= 1.0
    assert lm.n_epochs_ < 10_000 and len(lm.history_) >= 2
    assert all(r["step"] % 5 == 0 for r in lm.history_[:-1])


def test_no_validation():
    lm = SSMNLanguageModel(max_epochs=1, **dict(SMALL, validation_fraction=0.0)).fit(TEXT[:500])
    assert lm.best_val_loss_ is None and lm.history_[-1]["val_loss"] is None


def test_progress_lines_without_tqdm(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *a, **k):
        if name.startswith("tqdm"):
            raise ImportError("no tqdm")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    SSMNLanguageModel(max_epochs=2, verbose=1, **SMALL).fit(TEXT[:1500])
    err = capsys.readouterr().err
    assert err.count("SSMNLanguageModel.fit: step") == 2 and "nats/char" in err


# ---------------------------------------------------------------- generate
def test_generate_is_repeatable_with_seed(fitted):
    a = fitted.generate("the ", 60, temperature=1.0, seed=3)
    b = fitted.generate("the ", 60, temperature=1.0, seed=3)
    assert a == b and 0 < len(a) <= 60
    others = {fitted.generate("the ", 60, temperature=1.0, seed=s) for s in range(4, 8)}
    assert len(others | {a}) > 1
    assert fitted.generate("the ", 30, temperature=0) == fitted.generate("the ", 30, temperature=0)
    assert fitted.generate("", 10, top_k=3, seed=0) == fitted.generate("", 10, top_k=3, seed=0)
    assert fitted.generate("the", 0) == ""


def test_generated_text_looks_like_the_corpus(fitted):
    out = fitted.generate("the cat ", 200, temperature=0.5, seed=0)
    words = set(TEXT.replace(".", " ").split())
    produced = out.replace(".", " ").split()[:-1]  # the last word may be cut off
    assert produced and sum(w in words for w in produced) / len(produced) >= 0.5, out


# ---------------------------------------------------------------- files
def test_save_load_round_trip(fitted, tmp_path):
    fitted.save(tmp_path / "lm")
    again = SSMNLanguageModel.load(tmp_path / "lm")
    text = "my old friend ran to the house."
    assert again.score(text) == fitted.score(text)
    assert again.generate("a ", 40, seed=1) == fitted.generate("a ", 40, seed=1)
    assert again.get_params() == fitted.get_params()
    assert again.history_ == fitted.history_ and again.best_val_loss_ == fitted.best_val_loss_
    assert not list((tmp_path / "lm").glob("*.tmp"))


def test_pickle_round_trip(fitted):
    again = pickle.loads(pickle.dumps(fitted))
    assert again.score("she sat on a tree.") == fitted.score("she sat on a tree.")
    assert again.generate("the", 30, seed=2) == fitted.generate("the", 30, seed=2)


def test_load_refuses_bad_files(fitted, tmp_path):
    with pytest.raises(ModelFileError, match="no language_model.json"):
        SSMNLanguageModel.load(tmp_path / "missing")
    d = tmp_path / "lm"
    fitted.save(d)
    (d / "language_model.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="JSON"):
        SSMNLanguageModel.load(d)
    (d / "language_model.json").write_text('{"format": "other"}')
    with pytest.raises(ModelFileError):
        SSMNLanguageModel.load(d)
    fitted.save(d)
    (d / "model.ssmn").write_bytes(b"garbage")
    with pytest.raises(ModelFileError):
        SSMNLanguageModel.load(d)
    other = SSMNLanguageModel(max_epochs=1, **SMALL).fit("abc" * 50)
    other.model_.save(d / "model.ssmn")  # weights of a different vocabulary
    with pytest.raises(ModelFileError, match="vocab"):
        SSMNLanguageModel.load(d)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError):
        fitted.save(tmp_path / "file")


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("texts", ["", [], ["", ""], 123, [b"abc"], ["abc", 3], b"abc", None])
def test_fit_refuses_bad_texts(texts):
    with pytest.raises(InputError):
        SSMNLanguageModel(**SMALL).fit(texts)


def test_fit_refuses_too_short_text_for_validation():
    with pytest.raises(InputError, match="validation"):
        SSMNLanguageModel(**dict(SMALL, validation_fraction=0.1)).fit("abcde")
    with pytest.raises(InputError, match="at least 2"):
        SSMNLanguageModel(**dict(SMALL, validation_fraction=0.95)).fit("abcdefghijklmnopqrst")


def test_bad_parameters_and_unfitted_use(fitted):
    with pytest.raises(ValueError, match="hidden_dim"):
        SSMNLanguageModel(hidden_dim=0).fit(TEXT)
    with pytest.raises(ValueError, match="lr_schedule"):
        SSMNLanguageModel(lr_schedule="linear").fit(TEXT)
    with pytest.raises(ConfigError, match="rule"):
        SSMNLanguageModel(**dict(SMALL, rule="nope")).fit(TEXT)
    with pytest.raises(TypeError):
        SSMNLanguageModel(64)  # keyword-only
    with pytest.raises(NotFittedError):
        SSMNLanguageModel().score("abc")
    with pytest.raises(NotFittedError):
        SSMNLanguageModel().generate("abc")
    with pytest.raises(InputError):
        fitted.score("")
    with pytest.raises(InputError):
        fitted.score(42)
    with pytest.raises(InputError):
        fitted.generate(5)
    with pytest.raises(InputError):
        fitted.generate("a", -1)
    with pytest.raises(InputError):
        fitted.generate("a", 5, temperature=-1)


def test_long_text_scored_in_pieces_equals_one_pass(fitted, monkeypatch):
    import ssmn_rl.text.language_model as lm_mod

    text = TEXT[:700]
    whole = fitted.score(text)
    monkeypatch.setattr(lm_mod, "_SCORE_PIECE", 64)
    assert fitted.score(text) == pytest.approx(whole, rel=1e-5)


# ---------------------------------------------------------------- model selection
def test_grid_search_selects_the_lower_loss_configuration():
    """score is greater-is-better (minus nats per character), so GridSearchCV keeps the model with
    the lower held-out loss: here 12 epochs against 1 on the same small text."""
    from sklearn.model_selection import GridSearchCV, KFold

    texts = [TEXT[i:i + 300] for i in range(0, 3000, 300)]
    base = SSMNLanguageModel(**dict(SMALL, validation_fraction=0.0), n_jobs=1)
    search = GridSearchCV(base, {"max_epochs": [1, 12]}, cv=KFold(2)).fit(texts)
    assert search.best_params_ == {"max_epochs": 12}
    means = search.cv_results_["mean_test_score"]
    assert means[1] > means[0] + 0.2 and np.all(means < 0)
    held_out = texts[5:]
    lm = search.best_estimator_
    assert lm.score(held_out) == pytest.approx(-lm.nats_per_char(held_out), rel=1e-12)
