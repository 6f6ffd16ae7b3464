"""Fuzzing the Python boundary with hypothesis: whatever a caller passes, only documented
exceptions come out, the process survives, and a call that raised leaves the object exactly as it
was (parameters, live state and outputs bit-identical).

Targets: ``SSMN`` (forward, forward_step, Stream.step, value_and_grad, set_parameters, states,
integer and sampling arguments, generate), the estimators, the language model and the agents'
``predict``. Inputs: every NumPy dtype family (bool, ints, float16/32/64, complex, object,
strings, datetimes), 0-4 dimensions including empty ones, Fortran, strided, reversed, read-only
and zero-stride arrays, nested lists, NaN/inf, huge and tiny magnitudes, arrays too large for
memory (zero-stride views), negative and huge integers, wrong token ids and hand-edited states.

Example counts: CI runs a fixed (derandomised) budget per test, ``SSMN_FUZZ_EXAMPLES`` (default
50). A long run, with fresh random examples each time::

    SSMN_FUZZ_EXAMPLES=2000 SSMN_FUZZ_RANDOM=1 python -m pytest -q tests/test_fuzz.py
"""
from __future__ import annotations

import collections
import functools
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ssmn_rl import SSMN, ConfigError, InputError, SizeError, SSMNState, StateError

N_EXAMPLES = int(os.environ.get("SSMN_FUZZ_EXAMPLES", "50"))
FUZZ = settings(max_examples=N_EXAMPLES, deadline=None, derandomize=not os.environ.get("SSMN_FUZZ_RANDOM"),
                database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: What the model's boundary may raise (KernelError would mean a Python check is missing).
MODEL_ERRORS = (ConfigError, InputError, StateError, SizeError)
#: scikit-learn estimators document ValueError (NotFittedError is one) and TypeError for bad input.
ESTIMATOR_ERRORS = (ValueError, TypeError, SizeError)

# ---------------------------------------------------------------------------------- strategies
DTYPES = [np.bool_, np.int8, np.uint8, np.int32, np.int64, np.uint64, np.float16, np.float32,
          np.float64, np.complex64, np.complex128, object, "U3", "S2", "datetime64[s]", "timedelta64[s]"]
LAYOUTS = ["c", "fortran", "strided", "reversed", "readonly", "broadcast", "list", "tuple"]
JUNK = [None, "abc", b"xy", {}, {"a": 1}, set(), object(), 3, 2.5, float("nan"), -1, True,
        [[1.0, 2.0], [3.0]], [], (), [[[]]], [None, None, None], 1e308, -(2 ** 70)]


def _relayout(arr: np.ndarray, how: str):
    if how == "fortran":
        return np.asfortranarray(arr)
    if how == "strided" and arr.ndim:
        return np.repeat(arr, 2, axis=-1)[..., ::2]
    if how == "reversed" and arr.ndim:
        return arr[::-1]
    if how == "readonly":
        arr = arr.copy()
        arr.flags.writeable = False
        return arr
    if how == "broadcast" and arr.ndim:
        return np.broadcast_to(arr[:1], arr.shape)
    if how == "list":
        return arr.tolist()
    if how == "tuple":
        return tuple(arr.tolist()) if arr.ndim else arr.item()
    return arr


def _elements(dtype: np.dtype, values: str):
    if dtype == object:
        return st.one_of(st.none(), st.integers(-5, 5), st.floats(), st.text(max_size=2))
    if dtype.kind != "f" or values == "any":
        return None  # hypothesis' own edge-heavy choice for the dtype
    lim = {"finite": 4.0, "huge": float(np.finfo(dtype).max) / 4, "tiny": float(np.finfo(dtype).tiny)}[values]
    return st.floats(-lim, lim, width=dtype.itemsize * 8, allow_nan=False, allow_infinity=False)


@st.composite
def arrays(draw, last_dim=None, max_dims=4, dtypes=DTYPES):
    """Any array-like: every dtype family, shapes with empty axes, odd layouts, NaN/inf/huge."""
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    ndim = draw(st.integers(0, max_dims))
    shape = draw(st.lists(st.sampled_from([0, 1, 2, 3, 5]), min_size=ndim, max_size=ndim))
    if last_dim is not None and ndim and draw(st.booleans()):
        shape[-1] = last_dim  # often right, so the calls get past the shape checks
    values = draw(st.sampled_from(["any", "finite", "finite", "huge", "tiny"]))
    arr = draw(hnp.arrays(dtype, tuple(shape), elements=_elements(dtype, values)))
    if dtype.kind == "f" and arr.size and draw(st.booleans()):
        arr = arr.copy()
        arr.flat[draw(st.integers(0, arr.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return _relayout(arr, draw(st.sampled_from(LAYOUTS)))


def _huge_view(last_dim, dtype=np.float64):
    """A zero-stride array whose real size would exceed any machine's memory."""
    return np.lib.stride_tricks.as_strided(np.zeros(1, dtype), shape=(10 ** 8, 10 ** 4, last_dim),
                                           strides=(0, 0, 0))


def anything(last_dim=None, max_dims=4, dtypes=DTYPES, huge=True):
    """An array from :func:`arrays`, a non-array, or (``huge``) a view too large for memory."""
    options = [arrays(last_dim, max_dims, dtypes), st.sampled_from(JUNK)]
    if huge:
        options.append(st.just(_huge_view(last_dim or 1)))
    return st.one_of(*options)


INTS = st.one_of(st.integers(-3, 6), st.sampled_from([2 ** 40, 2 ** 63 - 1, 2 ** 64, 10 ** 30, -(2 ** 63)]),
                 st.sampled_from([np.int64(2), np.uint8(0), 2.0, 2.5, float("inf"), float("nan"), "3", None,
                                  True, False, [2], np.array([1, 2])]))
REALS = st.one_of(st.floats(), st.sampled_from([0, 1, -1, 1e-300, 1e300, "0.1", None, True, [0.1],
                                                 np.float32(0.5)]))

# ---------------------------------------------------------------------------------- models
REAL_MODELS = {
    "standard_f32": dict(variant="standard", input_dim=3, output_dim=2, hidden_dim=8, window_size=3,
                         dtype="float32"),
    "oja_f64": dict(variant="custom_split", input_dim=3, output_dim=2, hidden_dim=6, window_size=2,
                    n_layers=3, plastic_ratio=0.5, rule="oja", dtype="float64"),
    "delta_numpy_f64": dict(variant="custom_split", input_dim=3, output_dim=2, hidden_dim=5,
                            window_size=2, n_layers=2, plastic_ratio=0.5, rule="delta",
                            rule_backend="numpy", dtype="float64"),
}
TOKEN_MODELS = {"text_f32": dict(variant="text_native", vocab_size=7, embed_dim=4, hidden_dim=8,
                                 window_size=3, n_layers=2, dtype="float32")}
ALL_MODELS = sorted(REAL_MODELS) + sorted(TOKEN_MODELS)


class Fixture:
    """A model with a reference input, a warm state (B=2) and the outputs they give."""

    def __init__(self, name: str):
        kw = dict({**REAL_MODELS, **TOKEN_MODELS}[name])
        self.model = SSMN(kw.pop("variant"), seed=3, **kw)
        rng = np.random.default_rng(0)
        m = self.model
        self.tokens = m.token_input
        self.ref = (rng.integers(0, m.config.vocab_size, (2, 5)) if self.tokens
                    else rng.standard_normal((2, 5, m.config.input_dim)))
        _, self.warm = m.forward(self.ref, return_state=True)
        self.dim = None if self.tokens else m.config.input_dim

    def snapshot(self):
        m = self.model
        return m.get_parameters(), m.state, m.forward(self.ref, state=self.warm)

    def assert_unchanged(self, snap, live_too: bool = True):
        params, live, y = snap
        m = self.model
        assert m.get_parameters().tobytes() == params.tobytes(), "parameters changed"
        if live_too:
            assert (live is None and m.state is None) or live == m.state, "live state changed"
        assert m.forward(self.ref, state=self.warm).tobytes() == y.tobytes(), "outputs changed"


@functools.lru_cache(maxsize=None)
def fixture(name: str) -> Fixture:
    return Fixture(name)


#: Outcomes of every fuzzed call in this session ("answered" or the exception type), printed at
#: the end of the module (``pytest -s``) for RELIABILITY.md.
OUTCOMES: collections.Counter = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _print_outcomes():
    yield
    total = sum(OUTCOMES.values())
    print(f"\nfuzzed calls: {total}; " + ", ".join(f"{k}: {v}" for k, v in OUTCOMES.most_common()))


def attempt(fn, allowed=MODEL_ERRORS):
    """(True, result) or (False, exception) for a documented refusal; anything else propagates."""
    try:
        out = fn()
    except allowed as e:
        assert str(e), f"{type(e).__name__} raised without a message"
        OUTCOMES[type(e).__name__] += 1
        return False, e
    OUTCOMES["answered"] += 1
    return True, out


def check_outputs(y, last: int):
    assert isinstance(y, np.ndarray) and y.shape[-1] == last, (type(y), getattr(y, "shape", None))
    assert np.isfinite(y).all(), "finite input gave non-finite outputs"


# ---------------------------------------------------------------------------------- SSMN
@pytest.mark.parametrize("name", ALL_MODELS)
@FUZZ
@given(data=st.data())
def test_forward_refuses_or_answers_any_input(name, data):
    f = fixture(name)
    m = f.model
    X = data.draw(anything(f.dim), label="X")
    state = data.draw(st.sampled_from([None, "warm", "warm0"]), label="state")
    state = {None: None, "warm": f.warm, "warm0": f.warm[0]}[state]
    m.state = f.warm
    snap = f.snapshot()
    ok, out = attempt(lambda: m.forward(X, state=state, return_state=True))
    if ok:
        Y, final = out
        check_outputs(Y, m.config.output_dim)
        assert isinstance(final, SSMNState) and (final.steps >= Y.shape[-2]).all()
    f.assert_unchanged(snap)  # a sequence call never touches the live state


@pytest.mark.parametrize("name", ALL_MODELS)
@FUZZ
@given(data=st.data())
def test_streaming_step_refuses_without_touching_the_state(name, data):
    f = fixture(name)
    m = f.model
    x = data.draw(anything(f.dim, max_dims=3), label="x")
    live = data.draw(st.sampled_from([None, "warm", "warm0"]), label="live")
    m.state = {None: None, "warm": f.warm, "warm0": f.warm[0]}[live]
    snap = f.snapshot()
    ok, y = attempt(lambda: m.forward_step(x))
    if ok:
        check_outputs(y, m.config.output_dim)
        f.assert_unchanged(snap, live_too=False)
    else:
        f.assert_unchanged(snap)
    s = m.stream(f.warm)
    before = s.state.copy()
    ok, y = attempt(lambda: s.step(x))
    if ok:
        check_outputs(y, m.config.output_dim)
        assert np.array_equal(s.state.steps, before.steps + 1)
    else:
        assert s.state == before, "a refused step changed the stream's state"


def _losses(f):
    T = f.model.config.output_dim

    def junk_value(Y):
        return "x", np.zeros_like(Y)

    def nan_value(Y):
        return float("nan"), np.zeros_like(Y)

    def wrong_shape(Y):
        return 1.0, np.zeros(Y.shape[:-1] + (T + 1,))

    def ragged(Y):
        return 1.0, [[1.0], [1.0, 2.0]]

    def not_a_tuple(Y):
        return 1.0

    def good(Y):
        return float((Y ** 2).mean()), 2 * Y / Y.size

    return ["mse", "cross_entropy", "l1", None, 3, junk_value, nan_value, wrong_shape, ragged,
            not_a_tuple, good]


@pytest.mark.parametrize("name", ALL_MODELS)
@FUZZ
@given(data=st.data())
def test_value_and_grad_refuses_or_answers_any_input(name, data):
    f = fixture(name)
    m = f.model
    X = data.draw(st.one_of(st.just(f.ref), st.just(f.ref[0]), anything(f.dim)), label="X")
    Y = data.draw(st.one_of(anything(m.config.output_dim), st.just(np.zeros((2, 5, m.config.output_dim))),
                            st.just(np.zeros((2, 5), np.int64))), label="Y")
    loss = data.draw(st.sampled_from(_losses(f)), label="loss")
    mask = data.draw(st.one_of(st.none(), anything(5, max_dims=2)), label="mask")
    m.state = f.warm
    snap = f.snapshot()
    ok, out = attempt(lambda: m.value_and_grad(X, Y, loss=loss, mask=mask))
    if ok:
        value, grad = out
        assert np.isfinite(value) and grad.shape == (m.n_parameters,) and np.isfinite(grad).all()
    f.assert_unchanged(snap)


@pytest.mark.parametrize("name", ALL_MODELS)
@FUZZ
@given(data=st.data())
def test_set_parameters_refuses_without_a_change(name, data):
    f = fixture(name)
    m = f.model
    good = m.get_parameters()

    @st.composite
    def near_valid(draw):
        theta = good.astype(draw(st.sampled_from([np.float16, np.float32, np.float64, np.int64])))
        how = draw(st.sampled_from(["same", "nan", "huge", "short", "long", "2d", "readonly", "strided"]))
        if how in ("nan", "huge"):
            theta = theta.astype(np.float64)
            theta[draw(st.integers(0, theta.size - 1))] = np.nan if how == "nan" else 1e300
        return {"same": theta, "nan": theta, "huge": theta, "short": theta[:-1],
                "long": np.append(theta, 0), "2d": theta[None], "readonly": _relayout(theta, "readonly"),
                "strided": _relayout(theta, "strided")}[how]

    theta = data.draw(st.one_of(near_valid(), anything(m.n_parameters, max_dims=2)), label="theta")
    snap = f.snapshot()
    ok, _ = attempt(lambda: m.set_parameters(theta))
    try:
        if ok:
            want = np.asarray(theta).astype(m.dtype)
            assert m.get_parameters().tobytes() == want.tobytes()
        else:
            f.assert_unchanged(snap)
    finally:
        m.set_parameters(good)


@pytest.mark.parametrize("name", ALL_MODELS)
@FUZZ
@given(value=INTS, real=REALS)
def test_integer_and_real_arguments(name, value, real):
    f = fixture(name)
    m = f.model
    m.state = f.warm
    snap = f.snapshot()
    attempt(lambda: m.initial_state(value))
    attempt(lambda: m.stream(batch_size=value))
    attempt(lambda: m.stream(f.warm).reset(mask=value))
    f.assert_unchanged(snap)
    ok, _ = attempt(lambda: m.reset(batch_size=value))
    if not ok:
        f.assert_unchanged(snap)
    m.state = f.warm
    for kw in ({"eta": real}, {"decay": real}, {"eta": value}):
        ok, _ = attempt(lambda: m.set_plasticity(**kw))
        if not ok:
            f.assert_unchanged(snap)
        m.set_plasticity(eta=0.01, decay=0.001)  # the fixtures' (default) values
    if f.tokens:
        prompt = f.ref[0, :3]
        for kw in ({"max_new_tokens": value}, {"max_new_tokens": 2, "temperature": real},
                   {"max_new_tokens": 2, "top_k": value}, {"max_new_tokens": 2, "top_p": real},
                   {"max_new_tokens": 2, "seed": value}):
            ok, out = attempt(lambda: m.generate(prompt, **kw))
            if ok:
                assert out.dtype == np.int64 and out.min(initial=0) >= 0 and out.max(initial=0) < 7
    f.assert_unchanged(snap)


TOKEN_DTYPES = [np.bool_, np.int8, np.uint8, np.int32, np.int64, np.uint64, np.float16, np.float64, object]


@st.composite
def token_arrays(draw):
    """Token ids: mostly integers around [0, V) (some out of range), integral floats, NaN, junk."""
    kind = draw(st.sampled_from(["ids", "ids", "floats", "any"]))
    if kind == "any":
        return draw(anything(None, max_dims=3, dtypes=TOKEN_DTYPES))
    shape = tuple(draw(st.lists(st.sampled_from([0, 1, 2, 4]), min_size=0, max_size=3)))
    if kind == "ids":
        dtype = draw(st.sampled_from([np.int8, np.int32, np.int64, np.uint64]))
        lo = 0 if np.dtype(dtype).kind == "u" else -2
        arr = draw(hnp.arrays(dtype, shape, elements=st.integers(lo, 9)))
    else:
        arr = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from(
            [0.0, 1.0, 6.0, 7.0, 2.5, -1.0, np.nan, np.inf, 1e30, -0.0])))
    return _relayout(arr, draw(st.sampled_from(LAYOUTS)))


@FUZZ
@given(tokens=token_arrays(), prompt_len=st.integers(0, 3))
def test_token_model_refuses_bad_ids(tokens, prompt_len):
    f = fixture("text_f32")
    m = f.model
    m.state = f.warm[0]
    snap = f.snapshot()
    for call in (lambda: m.forward(tokens), lambda: m.next_token_probabilities(tokens),
                 lambda: m.generate(tokens, 2, seed=0), lambda: m.value_and_grad(tokens, tokens, "cross_entropy")):
        ok, out = attempt(call)
        if ok and isinstance(out, np.ndarray) and out.dtype.kind == "f":
            check_outputs(out, 7)
    f.assert_unchanged(snap)
    ok, y = attempt(lambda: m.forward_step(tokens))
    if not ok:
        f.assert_unchanged(snap)
    else:
        check_outputs(y, 7)


def _tamper(state: SSMNState, how: str) -> SSMNState:
    s = state.copy()
    if how == "short_data":
        s.data = s.data[:, :-1].copy()
    elif how == "long_data":
        s.data = np.hstack([s.data, s.data])
    elif how == "other_dtype":
        s.data = s.data.astype(np.float32 if s.data.dtype == np.float64 else np.float64)
    elif how == "list_data":
        s.data = s.data.tolist()
    elif how == "flat_data":
        s.data = s.data.ravel()
    elif how == "strided_data":
        s.data = np.repeat(s.data, 2, axis=1)[:, ::2]
    elif how == "empty_batch":
        s.data, s.steps = s.data[:0], s.steps[:0]
    elif how == "int32_steps":
        s.steps = s.steps.astype(np.int32)
    elif how == "steps_shape":
        s.steps = np.append(s.steps, 0)
    elif how == "negative_steps":
        s.steps[0] = -1
    elif how == "huge_steps":  # the core's ring slot (steps + t) % w used to overflow: heap write
        s.steps[0] = 2 ** 63 - 3
    elif how == "nan":
        s.data[0, -1] = np.nan
    elif how == "signature":
        s.signature = s.signature[:-1] + ("float16",)
    elif how == "signature_array":
        s.signature = np.zeros(3)
    return s


TAMPERING = ["none", "short_data", "long_data", "other_dtype", "list_data", "flat_data", "strided_data",
             "empty_batch", "int32_steps", "steps_shape", "negative_steps", "huge_steps", "nan", "signature",
             "signature_array"]


@pytest.mark.parametrize("name", ["standard_f32", "oja_f64", "text_f32"])
@pytest.mark.parametrize("how", TAMPERING)
def test_hand_edited_states_are_refused_before_reaching_the_core(name, how):
    """A state whose arrays were replaced by hand must never reach the C core, which trusts their
    sizes (a short data block used to corrupt the heap)."""
    f = fixture(name)
    m = f.model
    bad = _tamper(f.warm, how)
    m.state = f.warm
    snap = f.snapshot()
    calls = {"forward": lambda: m.forward(f.ref, state=bad),
             "set_live": lambda: setattr(m, "state", bad),
             "stream": lambda: m.stream(bad).step(f.ref[:, 0]),
             "stream_setter": lambda: setattr(m.stream(f.warm), "state", bad),
             "statistics": lambda: m.statistics(bad)}
    outcomes = {k: attempt(c)[0] for k, c in calls.items()}
    if how in ("none", "strided_data"):  # a valid state (a strided copy is still a valid value)
        assert all(outcomes.values()), outcomes
    else:
        assert not any(outcomes.values()), outcomes
        f.assert_unchanged(snap)
    # tampering with the state a stream already holds is caught at its next step
    s = m.stream(f.warm)
    s.step(f.ref[:, 0])
    held = s.state
    t = _tamper(held, how)
    held.data, held.steps, held.signature = t.data, t.steps, t.signature
    ok, _ = attempt(lambda: s.step(f.ref[:, 1]))
    assert ok == (how in ("none", "strided_data"))
    # reset writes the held arrays too: refused when their sizes are wrong, allowed otherwise
    # (a stream whose state went NaN, or whose counters were edited, may always be reset)
    s = m.stream(f.warm)
    t = _tamper(s.state, how)
    s.state.data, s.state.steps, s.state.signature = t.data, t.steps, t.signature
    ok, _ = attempt(lambda: s.reset())
    assert ok == (how in ("none", "strided_data", "negative_steps", "huge_steps", "nan", "signature",
                          "signature_array"))
    if ok:
        assert not s.state.steps.any() and not s.state.data.any()


# ---------------------------------------------------------------------------------- estimators
@functools.lru_cache(maxsize=None)
def estimators():
    """Small fitted estimators (ridge read-out: a fit takes milliseconds) and their reference input."""
    from ssmn_rl.estimators import SSMNClassifier, SSMNForecaster, SSMNRegressor, SSMNTransformer

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = X[:, 0] + 0.1 * rng.standard_normal(60)
    kw = dict(hidden_dim=8, window_size=3, random_state=0)
    return X, y, {"regressor": SSMNRegressor(solver="ridge", **kw).fit(X, y),
                  "classifier": SSMNClassifier(solver="ridge", **kw).fit(X, (y > 0).astype(int)),
                  "forecaster": SSMNForecaster(lags=3, regressor=SSMNForecaster.default_regressor(**kw)).fit(y),
                  "transformer": SSMNTransformer(**kw).fit(X)}


def _estimator_outputs(ests, X, y):
    """Everything a caller reads from the fitted estimators, for before/after comparisons."""
    return [ests["regressor"].predict(X), ests["classifier"].predict_proba(X),
            ests["transformer"].transform(X), ests["forecaster"].predict(4),
            ests["forecaster"].predict_stream(y=y[:10])]


def _not_beyond_memory(v) -> bool:
    # SSMNForecaster.predict(horizon) with a horizon beyond memory raises NumPy's MemoryError
    # instead of SizeError (reported; ssmn_rl/estimators is not covered by this file's fixes)
    return not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 10 ** 6)


@pytest.mark.filterwarnings("ignore:R\\^2 score is not well-defined")
@FUZZ
@given(a=anything(3, max_dims=3, huge=False), horizon=INTS)
def test_estimators_refuse_or_answer_any_input(a, horizon):
    import copy

    X, y, ests = estimators()
    before = _estimator_outputs(ests, X, y)
    n = max(1, int(np.shape(a)[0])) if isinstance(a, np.ndarray) and a.ndim else 1
    calls = {"regressor.predict": lambda: ests["regressor"].predict(a),
             "regressor.score": lambda: ests["regressor"].score(a, np.zeros(n)),
             "classifier.predict": lambda: ests["classifier"].predict(a),
             "classifier.predict_proba": lambda: ests["classifier"].predict_proba(a),
             "transformer.transform": lambda: ests["transformer"].transform(a),
             "forecaster.predict(X)": lambda: ests["forecaster"].predict(a),
             "forecaster.predict(horizon)": lambda: ests["forecaster"].predict(
                 horizon if _not_beyond_memory(horizon) else 3),
             "forecaster.predict_stream": lambda: ests["forecaster"].predict_stream(y=a),
             "forecaster.predict_stream(horizon)": lambda: ests["forecaster"].predict_stream(
                 y=y[:6], horizon=horizon, stride=2)}
    for name, call in calls.items():
        ok, out = attempt(call, ESTIMATOR_ERRORS)
        if ok and name != "regressor.score":
            assert np.isfinite(np.asarray(out, np.float64)).all(), name
    reg = copy.deepcopy(ests["regressor"])
    ok, _ = attempt(lambda: reg.partial_fit(a, np.zeros(n)), ESTIMATOR_ERRORS)
    if not ok:
        assert reg.predict(X).tobytes() == before[0].tobytes(), "a refused partial_fit changed the model"
    after = _estimator_outputs(ests, X, y)
    assert all(b.tobytes() == c.tobytes() for b, c in zip(before, after)), "predict changed the estimator"


# ---------------------------------------------------------------------------------- declared parameters
def _declared_cases():
    """(estimator class, option name) for every parameter each face declares: new options are
    fuzzed as soon as they are declared."""
    from ssmn_rl.estimators import SSMNClassifier, SSMNForecaster, SSMNRegressor, SSMNTransformer
    from ssmn_rl.text import SSMNLanguageModel

    classes = (SSMNRegressor, SSMNClassifier, SSMNTransformer, SSMNForecaster, SSMNLanguageModel)
    return [(cls, o.name) for cls in classes for o in cls._options]


#: Small, fast settings per face; a fuzzed value replaces one of them.
_SMALL = {"SSMNRegressor": dict(hidden_dim=4, window_size=2, max_iter=2, solver="adam"),
          "SSMNClassifier": dict(hidden_dim=4, window_size=2, max_iter=2),
          "SSMNTransformer": dict(hidden_dim=4, window_size=2),
          "SSMNForecaster": dict(lags=2),
          "SSMNLanguageModel": dict(embed_dim=4, hidden_dim=4, n_layers=2, max_epochs=1, batch_size=2,
                                    chunk_length=8, n_jobs=1, validation_fraction=0.0)}
PARAM_VALUES = st.one_of(
    st.sampled_from(JUNK), st.integers(-3, 24), st.floats(), st.booleans(), st.text(max_size=3),
    st.sampled_from(["auto", "adam", "ridge", "cosine", "constant", "float64", "long_term", "numpy",
                     "delta", "custom_split", "text_native", "sequence", "step", np.float32(0.5),
                     np.int64(3), np.bool_(True), {"eps": 0.5}, {"nope": 1.0}, 10 ** 30, -0.0]))


def _fit_small(est):
    name = type(est).__name__
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 2))
    y = X[:, 0] + 0.1 * rng.standard_normal(24)
    if name == "SSMNLanguageModel":
        return est.fit("hello world, hello ssmn")
    if name == "SSMNForecaster":
        return est.fit(y)
    if name == "SSMNClassifier":
        return est.fit(X, (y > 0).astype(int))
    return est.fit(X, y)


@pytest.mark.parametrize("case", _declared_cases(), ids=lambda c: f"{c[0].__name__}.{c[1]}")
@settings(FUZZ, max_examples=max(4, N_EXAMPLES // 10))
@given(value=PARAM_VALUES)
def test_declared_parameters_refuse_bad_values_by_name(case, value):
    """A value outside a parameter's declared constraints is refused by ``fit`` with scikit-learn's
    InvalidParameterError (a ValueError and TypeError) naming the parameter, the expected values
    and the value given; a value inside them fits or fails with a typed ssmn_rl / ValueError /
    TypeError (e.g. a combination of options the network refuses), never anything else."""
    from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

    cls, name = case
    small = _SMALL[cls.__name__]
    if name in ("max_iter", "max_epochs", "hidden_dim", "embed_dim", "chat_steps", "n_layers") and \
            isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 8:
        value = 8  # keeps a valid fit fast; invalid sizes are drawn as negative or odd types
    est = cls(**{**small, name: value})
    try:
        validate_parameter_constraints({name: cls._parameter_constraints[name]}, {name: value}, "x")
        declared_ok = True
    except InvalidParameterError:
        declared_ok = False
    ok, err = attempt(lambda: _fit_small(est), (ValueError, TypeError, SizeError, FloatingPointError))
    if not declared_ok:
        assert not ok and isinstance(err, InvalidParameterError), (name, value, err)
        assert f"The '{name}' parameter of {cls.__name__} must be" in str(err) and "Got " in str(err)


# ---------------------------------------------------------------------------------- token sequences
@functools.lru_cache(maxsize=None)
def token_estimators():
    """Small estimators fitted on token sequences (``variant="text_native"``, ids in [0, 7))."""
    from ssmn_rl.estimators import SSMNClassifier, SSMNRegressor

    rng = np.random.default_rng(0)
    ids = rng.integers(0, 7, (40, 5))
    kw = dict(variant="text_native", embed_dim=4, hidden_dim=8, window_size=3, random_state=0)
    return ids, {"classifier": SSMNClassifier(max_iter=2, **kw).fit(ids, ids[:, 0] % 3),
                 "regressor": SSMNRegressor(solver="ridge", target="step", **kw).fit(ids, ids * 0.5)}


@pytest.mark.filterwarnings("ignore:R\\^2 score is not well-defined")
@FUZZ
@given(tokens=token_arrays(), labels=anything(None, max_dims=2, huge=False))
def test_token_estimators_refuse_or_answer_any_input(tokens, labels):
    """Estimators on token sequences: any X to predict/score/partial_fit and any labels give an
    answer or a ValueError/TypeError, and leave the fitted estimators unchanged."""
    import copy

    ids, ests = token_estimators()
    clf, reg = ests["classifier"], ests["regressor"]
    before = [clf.predict_proba(ids).tobytes(), reg.predict(ids).tobytes()]
    for name, call in {"classifier.predict_proba": lambda: clf.predict_proba(tokens),
                       "classifier.predict": lambda: clf.predict(tokens),
                       "classifier.score": lambda: clf.score(tokens, labels),
                       "regressor.predict": lambda: reg.predict(tokens)}.items():
        ok, out = attempt(call, ESTIMATOR_ERRORS)
        if ok and name != "classifier.score":
            assert np.isfinite(np.asarray(out, np.float64)).all(), name
    n = max(1, int(np.shape(tokens)[0])) if isinstance(tokens, np.ndarray) and tokens.ndim else 1
    for est, y in ((clf, labels), (clf, np.zeros(n, int)), (reg, labels)):
        twin = copy.deepcopy(est)
        ok, _ = attempt(lambda: twin.partial_fit(tokens, y), ESTIMATOR_ERRORS)
        if not ok:
            out = twin.predict_proba(ids) if twin is not reg and hasattr(twin, "predict_proba") else twin.predict(ids)
            ref = before[0] if hasattr(twin, "predict_proba") else before[1]
            assert out.tobytes() == ref, "a refused partial_fit changed the model"
    assert [clf.predict_proba(ids).tobytes(), reg.predict(ids).tobytes()] == before


#: The options that only token-input variants take, and the variant itself, fuzzed with
#: ``variant="text_native"`` on token data.
_TOKEN_CASES = [(cls, name) for cls in ("SSMNRegressor", "SSMNClassifier")
                for name in ("vocab_size", "embed_dim", "variant", "target")]


@pytest.mark.parametrize("case", _TOKEN_CASES, ids=lambda c: f"{c[0]}.{c[1]}")
@settings(FUZZ, max_examples=max(4, N_EXAMPLES // 5))
@given(value=st.one_of(PARAM_VALUES, st.integers(-2, 12), st.sampled_from(["text_native", "standard", None])))
def test_token_parameters_refuse_bad_values_by_name(case, value):
    """With ``variant="text_native"`` and token data, a value of ``vocab_size``, ``embed_dim``,
    ``variant`` or ``target`` outside its declared constraints is refused by name; a declared
    value fits or raises a ValueError/TypeError (e.g. ids beyond ``vocab_size``, token options with
    a real-input variant, token ids read as real inputs)."""
    from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

    from ssmn_rl import estimators

    cls_name, name = case
    cls = getattr(estimators, cls_name)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 6, (12, 4))
    if name == "embed_dim" and isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 8:
        value = 8
    est = cls(**{"variant": "text_native", "hidden_dim": 4, "window_size": 2, "max_iter": 1, name: value})
    try:
        validate_parameter_constraints({name: cls._parameter_constraints[name]}, {name: value}, "x")
        declared_ok = True
    except InvalidParameterError:
        declared_ok = False
    y = ids[:, 0] % 2 if est.target == "sequence" else ids % 2
    ok, err = attempt(lambda: est.fit(ids, y), (ValueError, TypeError, SizeError))
    if not declared_ok:
        assert not ok and isinstance(err, InvalidParameterError), (name, value, err)
        assert f"The '{name}' parameter of {cls_name} must be" in str(err) and "Got " in str(err)
    elif ok:
        assert np.isfinite(np.asarray(est.predict(ids), np.float64)).all()


# ---------------------------------------------------------------------------------- language model
@functools.lru_cache(maxsize=None)
def language_model():
    from ssmn_rl.text import SSMNLanguageModel

    return SSMNLanguageModel(embed_dim=4, hidden_dim=8, n_layers=2, max_epochs=1, batch_size=2,
                             chunk_length=8, validation_fraction=0.0, n_jobs=1,
                             random_state=0).fit("hello world, hello ssmn")


TEXTS = st.one_of(st.text(max_size=6), st.lists(st.text(max_size=4), max_size=3),
                  anything(None, max_dims=1, huge=False))


@FUZZ
@given(text=TEXTS, n=INTS, real=REALS)
def test_language_model_refuses_or_answers_any_input(text, n, real):
    lm = language_model()
    before = (lm.generate("he", 6, seed=1), lm.score("hello"), lm.model_.get_parameters())
    calls = [lambda: lm.generate(text, 3, seed=0), lambda: lm.generate("he", n, seed=0),
             lambda: lm.generate("he", 2, temperature=real, seed=0),
             lambda: lm.generate("he", 2, top_k=n, seed=0), lambda: lm.generate("he", 2, top_p=real, seed=0),
             lambda: lm.generate("he", 2, seed=n), lambda: lm.score(text), lambda: lm.bits_per_char(text)]
    for call in calls:
        ok, out = attempt(call, ESTIMATOR_ERRORS)
        if ok:
            assert isinstance(out, str) or np.isfinite(out)
    after = (lm.generate("he", 6, seed=1), lm.score("hello"), lm.model_.get_parameters())
    assert before[0] == after[0] and before[1] == after[1] and before[2].tobytes() == after[2].tobytes()


# ---------------------------------------------------------------------------------- agents
@functools.lru_cache(maxsize=None)
def agents():
    from ssmn_rl.agents import ES, PPO

    return {"es_box": ES("standard", "CartPole-v1", seed=0),
            "ppo_box_action": PPO("standard", "Pendulum-v1", seed=0),
            "es_discrete_obs": ES("standard", "ssmn/RepeatFirst-v0", seed=0)}


@pytest.mark.parametrize("name", ["es_box", "ppo_box_action", "es_discrete_obs"])
@FUZZ
@given(obs=st.one_of(anything(None, max_dims=3), INTS), start=st.one_of(st.none(), anything(None, max_dims=2)),
       state=st.sampled_from([None, "own", "own_batch2", "foreign", "junk"]), deterministic=st.sampled_from(
           [True, False, None, "yes", np.array([1, 0])]))
def test_agent_predict_refuses_or_answers_any_input(name, obs, start, state, deterministic):
    agent = agents()[name]
    model = agent.policy.model
    good_obs = agent.observation_space.sample() * 0
    ref_action, ref_state = agent.predict(good_obs, deterministic=True)
    live, params = model.state, agent.policy.get_parameters()
    state = {None: None, "own": ref_state, "own_batch2": SSMNState.concatenate([ref_state, ref_state]),
             "foreign": fixture("standard_f32").warm, "junk": np.zeros(3)}[state]
    ok, out = attempt(lambda: agent.predict(obs, state=state, episode_start=start,
                                            deterministic=deterministic))
    if ok:
        action, new_state = out
        assert isinstance(new_state, SSMNState)
        acts = np.asarray(action)
        if acts.shape == np.shape(agent.action_space.sample()):
            assert agent.action_space.contains(acts.astype(agent.action_space.dtype))
    again_action, again_state = agent.predict(good_obs, deterministic=True)
    assert np.array_equal(again_action, ref_action) and again_state == ref_state
    assert agent.policy.get_parameters().tobytes() == params.tobytes()
    assert (live is None and model.state is None) or live == model.state


CELL_ARGS = ["preset", "position_bias", "residual", "neuromodulation", "learned_decay", "norm", "n_heads"]
CELL_VALUES = st.one_of(st.sampled_from([True, False, None, "default", "prototype", "fast", 0, 1, 2.0,
                                         "True", np.bool_(True), [True], "rms", "layer", "none", 3, 4, -2]),
                        st.sampled_from(JUNK))


@FUZZ
@given(values=st.fixed_dictionaries({}, optional={a: CELL_VALUES for a in CELL_ARGS}),
       rule=st.sampled_from(["hebbian", "delta", "oja", "importance"]),
       backend=st.sampled_from(["auto", "numpy"]), ratio=st.sampled_from([0.0, 0.5, 1.0]))
def test_cell_arguments_are_accepted_or_refused_by_name(values, rule, backend, ratio):
    """The cell's preset and flags: a valid combination builds a model that runs; anything else
    raises ConfigError naming one of the arguments given."""
    kwargs = dict(input_dim=2, output_dim=1, hidden_dim=4, window_size=2, n_layers=2, plastic_ratio=ratio,
                  rule=rule, rule_backend=backend, **values)
    try:
        m = SSMN("custom_split", **kwargs)
    except ConfigError as e:
        named = [a for a in values if a in str(e)]
        assert named, f"ConfigError names none of {sorted(values)}: {e}"
        return
    except Exception as e:  # noqa: BLE001 - anything else is a bug at the boundary
        raise AssertionError(f"SSMN(**{kwargs}) raised {type(e).__name__}: {e}") from e
    for a in CELL_ARGS[1:-2]:
        assert isinstance(getattr(m.config, a), bool)
    assert m.config.norm in ("none", "rms", "layer")
    assert m.forward(np.zeros((3, 2))).shape == (3, 1)
