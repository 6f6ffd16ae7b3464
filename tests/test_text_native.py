"""The Text-Native variant: token input through an embedding, internal chat, tied decoder —
C equals the NumPy reference, gradients equal finite differences, token ids are checked."""
import numpy as np
import pytest

from ssmn_rl import SSMN, InputError, ConfigError
from reference import reference_forward

CASES = [(1, False, "importance"), (3, False, "importance"), (2, True, "hebbian"), (3, False, "delta"),
         (2, False, "oja")]


def _model(chat, tied, rule, dtype="float64", **kw):
    cfg = dict(vocab_size=7, embed_dim=5, hidden_dim=5, window_size=3, n_layers=3, chat_steps=chat,
               tied=tied, rule=rule, plasticity_eta=0.4, decay_lambda=0.05, clip=0.7, dtype=dtype, seed=2)
    cfg.update(kw)
    return SSMN("text_native", **cfg)


@pytest.mark.parametrize("chat,tied,rule", CASES)
def test_text_native_forward_matches_reference(chat, tied, rule, rng):
    m = _model(chat, tied, rule)
    assert ("W_out" in m.parameter_slices()) is (not tied)
    tokens = rng.integers(0, 7, (2, 10))
    s0 = m.initial_state(2)
    n = s0.data.shape[1] - 1 - m.config.n_plastic
    s0.data[:, :n] = rng.standard_normal((2, n)) * 0.3
    s0.steps[:] = [1, 5]
    Y, s = m.forward(tokens, state=s0, return_state=True)
    Yr, data_r, _ = reference_forward(m.config, m.get_parameters(), tokens, s0.data, s0.steps)
    assert np.abs(Y - Yr).max() <= 1e-10
    assert np.abs(s.data - data_r).max() <= 1e-10


@pytest.mark.parametrize("chat,tied,rule", CASES)
def test_text_native_gradients_match_finite_differences(chat, tied, rule, rng):
    m = _model(chat, tied, rule, n_layers=2, plastic_ratio=0.5)
    tokens = rng.integers(0, 7, (2, 7))
    targets = rng.integers(0, 7, (2, 7))
    theta = m.get_parameters()
    _, g = m.value_and_grad(tokens, targets, loss="cross_entropy")
    eps, fd = 1e-6, np.zeros_like(theta)
    for i in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += eps
        tm[i] -= eps
        m.set_parameters(tp)
        lp = m.value_and_grad(tokens, targets, loss="cross_entropy")[0]
        m.set_parameters(tm)
        lm = m.value_and_grad(tokens, targets, loss="cross_entropy")[0]
        fd[i] = (lp - lm) / (2 * eps)
    m.set_parameters(theta)
    for name, (sl, _) in m.parameter_slices().items():
        err = np.abs(g[sl] - fd[sl]).max() / max(np.abs(fd[sl]).max(), 1e-8)
        assert err <= 1e-6, (name, err)


def test_streaming_tokens_equals_sequence(rng):
    m = _model(2, False, "importance", dtype="float32")
    tokens = rng.integers(0, 7, 12)
    Y = m.forward(tokens)
    m.reset()
    steps = np.stack([m.forward_step(int(t)) for t in tokens])
    np.testing.assert_allclose(steps, Y, rtol=1e-5, atol=1e-6)
    st = m.stream(batch_size=2)
    both = np.stack([st.step(np.array([t, t])) for t in tokens], axis=1)
    np.testing.assert_allclose(both[0], Y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad,match", [
    (np.array([0, 7, 1]), r"token id out of range \[0, 7\) \(vocab_size\): 7 at index \(1,\)"),
    (np.array([[0, 1], [-1, 2]]), r"out of range \[0, 7\).*-1 at index \(1, 0\)"),
    (np.array([0.5, 1.0]), r"must hold integer token ids in \[0, 7\), got dtype float64"),
    (np.array(["a"]), r"must hold integer token ids"),
    (np.zeros((1, 2, 3), int), r"must be \(T,\) or \(B, T\) token ids, got shape \(1, 2, 3\)"),
])
def test_bad_token_ids_are_refused_before_c_and_change_nothing(bad, match):
    m = _model(1, False, "importance")
    m.forward_step(3)
    before = m.state
    theta = m.get_parameters()
    with pytest.raises(InputError, match=match):
        m.forward(bad)
    with pytest.raises(InputError, match=match):
        m.value_and_grad(bad, np.zeros(np.shape(bad), int), loss="cross_entropy")
    with pytest.raises(InputError, match=r"out of range|integer token ids|token id"):
        m.forward_step(99)
    assert m.state == before
    np.testing.assert_array_equal(m.get_parameters(), theta)


def test_kernel_refuses_bad_tokens_even_if_python_is_bypassed():
    from ssmn_rl import _kernels
    m = _model(1, False, "importance")
    st = m.initial_state(1)
    before = st.copy()
    y = np.empty((1, 2, 7))
    cache = np.empty(2 * m.core.n_cache)
    with pytest.raises(Exception, match=r"token id out of range"):
        _kernels.forward(m.core.c_cfg, y, cache, st.data, st.steps, np.array([[1, 70]], np.int32), m.parameters, 1, 2)
    assert st == before


def test_text_native_config_errors():
    with pytest.raises(ConfigError, match=r"vocab_size must be an integer >= 2, got 0"):
        SSMN("text_native", embed_dim=4)
    with pytest.raises(ConfigError, match=r"embed_dim must equal hidden_dim \(8\), got 4"):
        SSMN("text_native", vocab_size=10, embed_dim=4, hidden_dim=8, tied=True)
    with pytest.raises(ConfigError, match=r"give vocab_size and embed_dim, not input_dim"):
        SSMN("text_native", vocab_size=10, input_dim=3)
    with pytest.raises(ConfigError, match=r"vocab_size and tied are for token-input variants"):
        SSMN("standard", input_dim=2, output_dim=2, vocab_size=5)
    with pytest.raises(ConfigError, match=r"chat_steps must be an integer >= 1, got 0"):
        SSMN("text_native", vocab_size=10, chat_steps=0)


def test_chat_steps_work_in_every_variant(rng):
    m = SSMN("custom_split", input_dim=3, output_dim=2, hidden_dim=6, n_layers=2, plastic_ratio=0.5,
             chat_steps=3, dtype="float64", seed=0)
    X = rng.standard_normal((2, 8, 3))
    np.testing.assert_allclose(m.forward(X), reference_forward(m.config, m.get_parameters(), X)[0],
                               atol=1e-10, rtol=0)


def test_return_features_are_the_read_out_input(rng):
    m = SSMN("custom_split", input_dim=3, output_dim=2, hidden_dim=6, n_layers=2, plastic_ratio=0.5,
             dtype="float64", seed=0)
    X = rng.standard_normal((2, 9, 3))
    Y, Z = m.forward(X, return_features=True)
    p = m.named_parameters()
    np.testing.assert_allclose(Y, Z @ p["W_out"].T + p["b_out"], atol=1e-12, rtol=0)
    Y1, Z1, s = m.forward(X[0], return_features=True, return_state=True)
    assert Z1.shape == (9, 6) and s.steps[0] == 9


def test_generate_is_repeatable_and_respects_filters(rng):
    m = _model(2, False, "importance", dtype="float32")
    a = m.generate([1, 2, 3], 20, temperature=0.8, top_k=3, seed=5)
    b = m.generate(np.array([1, 2, 3]), 20, temperature=0.8, top_k=3, seed=5)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (20,) and a.min() >= 0 and a.max() < 7
    greedy = m.generate([1, 2, 3], 5, temperature=0)
    logits = m.forward(np.concatenate([[1, 2, 3], greedy[:-1]]))
    np.testing.assert_array_equal(greedy, logits[2:].argmax(-1))
    top1 = m.generate([1, 2, 3], 5, top_k=1, seed=0)
    np.testing.assert_array_equal(top1, greedy)
    assert m.state is None
    p = m.next_token_probabilities([1, 2, 3])
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-9)
    with pytest.raises(InputError, match=r"top_p must be None or a number in \(0, 1\], got 1.5"):
        m.generate([1], 3, top_p=1.5)
    with pytest.raises(InputError, match=r"prompt_tokens must be a non-empty 1-D"):
        m.generate([], 3)
    with pytest.raises(ConfigError, match=r"generate needs a token model"):
        SSMN("standard", input_dim=2, output_dim=2).generate([1], 2)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fused_cross_entropy_matches_numpy(dtype, rng):
    """The C softmax-CE kernel against a direct NumPy computation, masked rows included; the
    gradient may overwrite the logits (as value_and_grad does)."""
    from ssmn_rl.losses import cross_entropy

    Y = (rng.standard_normal((3, 5, 7)) * 4).astype(dtype)
    target = rng.integers(0, 7, (3, 5))
    mask = rng.uniform(0, 1, (3, 5))
    mask[0, :2] = 0
    z = Y.astype(np.float64) - Y.max(-1, keepdims=True)
    lse = np.log(np.exp(z).sum(-1))
    nll = lse - np.take_along_axis(z, target[..., None], -1)[..., 0]
    want_loss = float((nll * mask).sum() / mask.sum())
    want_grad = np.exp(z - lse[..., None])
    np.put_along_axis(want_grad, target[..., None], np.take_along_axis(want_grad, target[..., None], -1) - 1, -1)
    want_grad *= (mask / mask.sum())[..., None]
    loss, grad = cross_entropy(Y.copy(), target, mask)
    tol = 1e-12 if dtype == "float64" else 2e-6
    assert abs(loss - want_loss) <= tol * 10
    np.testing.assert_allclose(grad, want_grad, atol=tol)
    Y2 = Y.copy()
    loss2, grad2 = cross_entropy(Y2, target, mask, out=Y2)
    assert grad2 is Y2 and loss2 == loss
    np.testing.assert_array_equal(grad2, grad)


def test_fused_cross_entropy_refuses_bad_logits_and_targets():
    from ssmn_rl.errors import InputError
    from ssmn_rl.losses import cross_entropy

    Y = np.zeros((1, 2, 3))
    with pytest.raises(InputError, match="token id out of range"):
        cross_entropy(Y, np.array([[0, 3]]), np.ones((1, 2)))
    Y[0, 1, 2] = np.nan
    with pytest.raises(InputError, match="NaN or inf"):
        cross_entropy(Y, np.array([[0, 1]]), np.ones((1, 2)))


def test_nucleus_equals_the_full_sort_and_sampling_follows_the_distribution(rng):
    from ssmn_rl.sampling import _nucleus, sample_token

    for V in (5, 100, 10_000):
        for top_p in (0.1, 0.5, 0.9, 0.999):
            p = rng.dirichlet(np.full(V, 0.3))
            order = np.argsort(p)[::-1]
            want = order[np.cumsum(p[order]) - p[order] < top_p]
            assert set(_nucleus(p, top_p)) == set(want), (V, top_p)
    logits = np.log([0.5, 0.3, 0.2])
    freq = np.bincount([sample_token(logits, rng) for _ in range(20_000)], minlength=3) / 20_000
    np.testing.assert_allclose(freq, [0.5, 0.3, 0.2], atol=0.015)
    # top_p=0.6 keeps the two most likely tokens only
    assert {sample_token(logits, rng, top_p=0.6) for _ in range(500)} == {0, 1}
