"""Conformance checks for plugin authors: ``check_rule`` and ``check_variant``.

In the spirit of scikit-learn's ``check_estimator`` and Gymnasium's ``check_env``: one call runs
every property the core relies on and raises ``AssertionError`` naming the first one that fails,
the rule or variant, and the distribution of the plugin that registered it::

    from ssmn_rl.testing import check_rule
    check_rule("bcm")               # a registered name, or a PlasticityRule object

``ssmn-rl plugins --check NAME`` runs the same checks from the shell. An object that is not
registered is registered for the duration of the model-level checks (under the name
``_check_<name>``, through :func:`ssmn_rl.plugin_manager.temporarily_registered`), which reloads
the process-wide registry: run the checks in tests, not while other threads build models.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .errors import ConfigError
from .hookspec import hookimpl
from .rules import PlasticityRule, validate_rule
from .variants import ModelVariant, validate_variant

#: test inputs of the direct checks: W (B, H, H), pre and post (B, H)
BATCH, HIDDEN = 3, 5
ETA, DECAY = 0.3, 0.05
#: relative tolerances: C vs NumPy in each precision, finite differences, batch vs one stream
TOL_C = {np.float32: 2e-5, np.float64: 1e-10}
TOL_FD = 1e-6
TOL_BATCH = 1e-12


class _Failed(AssertionError):
    """One property failed: `prop` names it, the message says how."""

    def __init__(self, prop: str, detail: str):
        super().__init__(detail)
        self.prop, self.detail = prop, detail


def _fail(prop: str, detail: str):
    raise _Failed(prop, detail)


def _rel_err(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want| / max(1, max |want|)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.max(np.abs(got - want), initial=0.0) / max(1.0, float(np.max(np.abs(want), initial=0.0))))


def _call(prop: str, what: str, fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except Exception as e:  # the property fails with the plugin's own exception attached
        raise _Failed(prop, f"{what} raised {type(e).__name__}: {e}") from e


# ---------------------------------------------------------------------------------- resolving
class _CheckPlugin:
    """A runtime plugin holding the rule or variant under check."""

    def __init__(self, rules=(), variants=()):
        self.rules, self.variants = list(rules), list(variants)

    @hookimpl
    def ssmn_rl_register_rules(self):
        return self.rules

    @hookimpl
    def ssmn_rl_register_variants(self):
        return self.variants


def _resolve(kind: str, arg):
    """(item, label) for a registered name or an object of the right type."""
    from .plugin_manager import describe, get_rule, get_variant

    cls, getter, validate = ((PlasticityRule, get_rule, validate_rule) if kind == "rule" else
                             (ModelVariant, get_variant, validate_variant))
    fn = f"check_{kind}"
    if isinstance(arg, str):
        item = getter(arg)  # ConfigError listing the available names
    elif isinstance(arg, cls):
        try:
            item = validate(arg)
        except (TypeError, ValueError) as e:
            raise AssertionError(f"{fn}: {kind} {getattr(arg, 'name', '?')!r} fails "
                                 f'"a valid registration": {e}') from e
    else:
        raise TypeError(f"{fn}: `{kind}` must be a registered {kind} name (str) or a "
                        f"ssmn_rl.{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}, got "
                        f"{type(arg).__name__}. HINT: ssmn_rl.list_{kind}s() lists the registered names")
    return item, describe(item)


class _InModel:
    """``with _InModel(rule) as name``: a name under which `rule` itself is registered."""

    def __init__(self, item):
        self.item = item
        self._ctx = None

    def __enter__(self) -> str:
        from .plugin_manager import source_of, temporarily_registered

        if source_of(self.item) is not None:
            return self.item.name
        copy = dataclasses.replace(self.item, name=f"_check_{self.item.name}")
        plugin = (_CheckPlugin(rules=[copy]) if isinstance(copy, PlasticityRule) else
                  _CheckPlugin(variants=[copy]))
        self._ctx = temporarily_registered(plugin, f"ssmn_rl.testing:{copy.name}")
        self._ctx.__enter__()
        return copy.name

    def __exit__(self, *exc):
        if self._ctx is not None:
            self._ctx.__exit__(*exc)
        return False


def _run(fn: str, label: str, checks) -> list[str]:
    done = []
    for prop, check in checks:
        try:
            check()
        except _Failed as e:
            raise AssertionError(f'{fn}: {label} fails "{e.prop}": {e.detail}') from e.__cause__
        done.append(prop)
    return done


# ---------------------------------------------------------------------------------- rules
def _inputs(rng, B: int, H: int, dtype):
    """W small, pre any real (a plastic layer's input), post >= 0 (a relu output), kept 0.1 away
    from 0 so that rules with |post| terms are differentiable at the test point."""
    W = rng.normal(0.0, 0.3, (B, H, H))
    pre = rng.normal(0.0, 1.0, (B, H))
    post = np.abs(rng.normal(0.0, 1.0, (B, H))) + 0.1
    return W.astype(dtype), pre.astype(dtype), post.astype(dtype)


class _RuleChecks:
    def __init__(self, rule: PlasticityRule, seed: int):
        self.rule, self.rng = rule, np.random.default_rng(seed)
        self.params: dict = {}  # set by params_declared, the first check

    # -- parameters
    def params_declared(self) -> None:
        prop = "declared parameter ranges"
        for k, p in self.rule.params.items():
            if not (p.low <= p.high):
                _fail(prop, f"parameter {k!r} declares low {p.low} > high {p.high}")
        try:
            self.params = self.rule.resolve_params(None)
        except ConfigError as e:
            _fail(prop, f"a default lies outside its declared range: {e}")
        for k, p in self.rule.params.items():
            bad = [math.nan]
            if math.isfinite(p.low):
                bad.append(p.low if p.low_open else float(np.nextafter(p.low, -math.inf)) - 1e-9 * max(1, abs(p.low)))
            if math.isfinite(p.high):
                bad.append(p.high if p.high_open else float(np.nextafter(p.high, math.inf)) + 1e-9 * max(1, abs(p.high)))
            for v in bad:
                try:
                    self.rule.resolve_params({k: v})
                except ConfigError as e:
                    if k not in str(e):
                        _fail(prop, f"the error refusing {k}={v} does not name the parameter: {e}")
                    continue
                _fail(prop, f"{k}={v} is outside the declared range but resolve_params accepted it")
        try:
            self.rule.resolve_params({"no_such_parameter": 1.0})
        except ConfigError:
            return
        _fail(prop, "resolve_params accepted an undeclared parameter 'no_such_parameter'")

    @property
    def _names(self) -> tuple:
        """What vjp returns, in order."""
        return ("dW", "dpre", "dpost", "deta", "ddecay") if self.rule.per_stream_rates else ("dW", "dpre", "dpost")

    def _rates(self, B: int, dtype=np.float64):
        """eta and decay for B streams: one rate per stream (distinct) for a rule that takes them,
        else the fixed floats."""
        if not self.rule.per_stream_rates:
            return ETA, DECAY
        k = np.arange(B)
        return (ETA * (1 + 0.25 * k)).astype(dtype), (DECAY * (1 + 0.5 * k)).astype(dtype)

    def _update(self, prop, W, pre, post, rates=None):
        eta, decay = self._rates(len(W), W.dtype) if rates is None else rates
        return _call(prop, "update", self.rule.update, W, pre, post, eta, decay, **self.params)

    def _vjp(self, prop, G, W, pre, post, rates=None):
        eta, decay = self._rates(len(W), W.dtype) if rates is None else rates
        return _call(prop, "vjp", self.rule.vjp, G, W, pre, post, eta, decay, **self.params)

    def _one(self, b: int):
        """Stream b's rates, as the rule gets them when it runs alone."""
        eta, decay = self._rates(BATCH)
        return (eta, decay) if not self.rule.per_stream_rates else (eta[b:b + 1].copy(), decay[b:b + 1].copy())

    # -- update
    def update_shape_dtype(self) -> None:
        prop = "update returns W's shape and dtype"
        for dtype in (np.float32, np.float64):
            W, pre, post = _inputs(self.rng, BATCH, HIDDEN, dtype)
            out = self._update(prop, W, pre, post)
            if not isinstance(out, np.ndarray):
                _fail(prop, f"update returned {type(out).__name__}, expected a numpy.ndarray")
            if out.shape != W.shape:
                _fail(prop, f"update returned shape {out.shape} for W of shape {W.shape} (B={BATCH} streams)")
            if out.dtype != np.dtype(dtype):
                _fail(prop, f"update returned dtype {out.dtype} for {np.dtype(dtype)} inputs. HINT: keep "
                            "W's dtype: no float64 arrays (np.array([...]), np.float64(...)) in the arithmetic")
            if not np.isfinite(out).all():
                _fail(prop, "update returned NaN or inf on moderate inputs")

    def update_pure(self) -> None:
        prop = "update leaves its inputs unchanged"
        W, pre, post = _inputs(self.rng, BATCH, HIDDEN, np.float64)
        before = [a.copy() for a in (W, pre, post)]
        self._update(prop, W, pre, post)
        for name, a, b in zip(("W", "pre", "post"), (W, pre, post), before):
            if not np.array_equal(a, b):
                _fail(prop, f"update wrote into its input {name}. HINT: return a new array "
                            "(W' = W * keep + ..., not W *= keep)")

    def update_batched(self) -> None:
        prop = "update is batched over streams"
        W, pre, post = _inputs(self.rng, BATCH, HIDDEN, np.float64)
        whole = self._update(prop, W, pre, post)
        for b in range(BATCH):
            alone = self._update(prop, W[b:b + 1].copy(), pre[b:b + 1].copy(), post[b:b + 1].copy(), self._one(b))
            err = _rel_err(whole[b], alone[0])
            if err > TOL_BATCH:
                _fail(prop, f"stream {b} of {BATCH} updated with the others differs from the same stream "
                            f"updated alone (relative error {err:.3g}). HINT: W is (B, H, H), pre and post "
                            "(B, H): use post[:, :, None] * pre[:, None, :] or "
                            "np.einsum('bi,bj->bij', post, pre), not np.outer on one stream"
                            + ("; eta and decay are (B,): eta[:, None, None]" if self.rule.per_stream_rates else ""))

    # -- vjp
    def vjp_shape_dtype(self) -> None:
        names = self._names
        prop = f"vjp returns ({', '.join(names)}) shaped and typed like its inputs"
        for dtype in (np.float32, np.float64):
            W, pre, post = _inputs(self.rng, BATCH, HIDDEN, dtype)
            G = self.rng.normal(size=W.shape).astype(dtype)
            res = self._vjp(prop, G, W, pre, post)
            if not isinstance(res, (tuple, list)) or len(res) != len(names):
                _fail(prop, f"vjp returned {type(res).__name__}"
                            f"{f' of {len(res)}' if isinstance(res, (tuple, list)) else ''}, expected a tuple "
                            f"({', '.join(names)})" + (" (the rule declares per_stream_rates)" if len(names) == 5 else ""))
            rates = np.zeros(BATCH, dtype)
            for name, got, like in zip(names, res, (W, pre, post, rates, rates)):
                if not isinstance(got, np.ndarray) or got.shape != like.shape or got.dtype != like.dtype:
                    desc = (f"{got.dtype} {got.shape}" if isinstance(got, np.ndarray) else type(got).__name__)
                    _fail(prop, f"vjp's {name} is {desc}, expected {like.dtype} {like.shape}")

    def vjp_pure(self) -> None:
        prop = "vjp leaves its inputs unchanged"
        W, pre, post = _inputs(self.rng, BATCH, HIDDEN, np.float64)
        G = self.rng.normal(size=W.shape)
        before = [a.copy() for a in (G, W, pre, post)]
        self._vjp(prop, G, W, pre, post)
        for name, a, b in zip(("G", "W", "pre", "post"), (G, W, pre, post), before):
            if not np.array_equal(a, b):
                _fail(prop, f"vjp wrote into its input {name}. HINT: return new arrays")

    def vjp_batched(self) -> None:
        prop = "vjp is batched over streams"
        W, pre, post = _inputs(self.rng, BATCH, HIDDEN, np.float64)
        G = self.rng.normal(size=W.shape)
        whole = self._vjp(prop, G, W, pre, post)
        for b in range(BATCH):
            sl = slice(b, b + 1)
            alone = self._vjp(prop, G[sl].copy(), W[sl].copy(), pre[sl].copy(), post[sl].copy(), self._one(b))
            for name, x, y in zip(self._names, whole, alone):
                err = _rel_err(x[b], y[0])
                if err > TOL_BATCH:
                    _fail(prop, f"{name} of stream {b} of {BATCH} differs from the same stream alone "
                                f"(relative error {err:.3g}). HINT: keep the leading stream axis B in "
                                "every product (np.einsum('bij,bj->bi', G, pre), not G[0] @ pre[0])")

    def vjp_finite_differences(self) -> None:
        prop = "vjp matches central finite differences of update (float64)"
        B, H, eps = 2, 4, 1e-6
        W, pre, post = _inputs(self.rng, B, H, np.float64)
        G = self.rng.normal(size=W.shape)
        grads = self._vjp(prop, G, W, pre, post)
        args = [W, pre, post]
        if self.rule.per_stream_rates:
            args += [np.asarray(r, np.float64).copy() for r in self._rates(B)]

        def loss(w, p, q, *rates):
            return float(np.sum(G * self._update(prop, w, p, q, rates or None)))

        for k, name in enumerate(self._names):
            num = np.zeros_like(args[k])
            for idx in np.ndindex(args[k].shape):
                plus = [a.copy() for a in args]
                minus = [a.copy() for a in args]
                plus[k][idx] += eps
                minus[k][idx] -= eps
                num[idx] = (loss(*plus) - loss(*minus)) / (2 * eps)
            err = _rel_err(grads[k], num)
            if err > TOL_FD:
                worst = np.unravel_index(np.argmax(np.abs(np.asarray(grads[k]) - num)), num.shape)
                _fail(prop, f"{name} differs from finite differences by {err:.3g} (relative); worst at "
                            f"{tuple(int(i) for i in worst)}: vjp gives {float(np.asarray(grads[k])[worst]):.6g}, "
                            f"finite differences {float(num[worst]):.6g}")

    # -- C source, called directly
    def c_source_matches(self) -> None:
        from .custom_rules import compile_rule

        prop = "C kernel (c_source) matches the NumPy update and vjp in float32 and float64"
        try:
            rffi, rlib = compile_rule(self.rule.name, self.rule.c_source, self.rule.vjp is not None)
        except ConfigError as e:
            _fail(prop, str(e))
        ctx = rffi.new("double[]", [*self.params.values(), 0.0])
        per_stream = self.rule.per_stream_rates
        for dtype, suf, ctype in ((np.float32, "f32", "float"), (np.float64, "f64", "double")):
            def buf(a):
                return rffi.from_buffer(f"{ctype}[]", a)

            W, pre, post = _inputs(self.rng, BATCH, HIDDEN, dtype)
            rates64 = self._rates(BATCH)
            eta, decay = (np.full(BATCH, r, dtype) if np.ndim(r) == 0 else np.asarray(r, dtype) for r in rates64)
            want = np.asarray(self._update(prop, W.astype(np.float64), pre.astype(np.float64),
                                           post.astype(np.float64), rates64))
            got = W.copy()
            rc = getattr(rlib, f"update_{suf}")(ctx, buf(got), buf(pre), buf(post), buf(eta), buf(decay), BATCH, HIDDEN)
            if rc != 0:
                _fail(prop, f"C update_{suf} returned {rc} (non-zero means failure) on moderate inputs")
            err = _rel_err(got, want)
            if err > TOL_C[dtype]:
                _fail(prop, f"C update_{suf} differs from the NumPy update by {err:.3g} (relative; "
                            f"tolerance {TOL_C[dtype]:g}; {BATCH} streams in one call)")
            if self.rule.vjp is None:
                continue
            G = self.rng.normal(size=W.shape).astype(dtype)
            want_v = [np.asarray(a, np.float64) for a in self._vjp(
                prop, G.astype(np.float64), W.astype(np.float64), pre.astype(np.float64), post.astype(np.float64),
                rates64)]
            base = [self.rng.normal(size=a.shape).astype(dtype) for a in (pre, post, eta, decay)]
            Gc, dpre, dpost, deta, ddecay = (a.copy() for a in [G] + base)
            rc = getattr(rlib, f"vjp_{suf}")(ctx, buf(Gc), buf(dpre), buf(dpost),
                                            buf(deta) if per_stream else rffi.NULL,
                                            buf(ddecay) if per_stream else rffi.NULL,
                                            buf(W), buf(pre), buf(post), buf(eta), buf(decay), BATCH, HIDDEN)
            if rc != 0:
                _fail(prop, f"C vjp_{suf} returned {rc} (non-zero means failure) on moderate inputs")
            got_v = [("dW (written over G)", Gc), ("dpre (added to the buffer)", dpre - base[0]),
                     ("dpost (added to the buffer)", dpost - base[1]),
                     ("deta (added to the buffer)", deta - base[2]), ("ddecay (added to the buffer)", ddecay - base[3])]
            for (name, got_), want_ in zip(got_v, want_v):
                err = _rel_err(got_, want_)
                if err > TOL_C[dtype]:
                    _fail(prop, f"C vjp_{suf}'s {name} differs from the NumPy vjp by {err:.3g} (relative). "
                                "HINT: vjp overwrites G with dL/dW and ADDS to dpre, dpost, deta and ddecay (+=)")

    # -- inside a model: the core's own C implementation against the NumPy twin
    def in_model(self) -> None:
        from .model import SSMN

        has_c = self.rule.c_rule_id is not None or bool(self.rule.c_source)
        prop = ("C kernel in the model matches the NumPy rule (float32, float64)" if has_c else
                "runs in a model (forward, and backward when it has a vjp)")
        X = self.rng.normal(size=(BATCH, 8, 3))
        Yt = self.rng.normal(size=(BATCH, 8, 2))
        with _InModel(self.rule) as name:
            gates = bool(self.rule.per_stream_rates)

            def model(backend, dtype):
                # 3 layers, 2 plastic: the first sees a relu output as pre, the second the first's output;
                # the gates (per-step eta_t, lambda_t) when the rule takes per-stream rates
                return _call(prop, "building a model", SSMN, "custom_split", input_dim=3, hidden_dim=HIDDEN,
                             output_dim=2, window_size=2, n_layers=3, plastic_ratio=0.67, rule=name,
                             rule_backend=backend, plasticity_eta=ETA, decay_lambda=DECAY, clip=5.0,
                             neuromodulation=gates, learned_decay=gates, dtype=dtype, seed=0)

            for dtype in ("float32", "float64"):
                ref = model("numpy", dtype)
                if gates:  # gate weights start at 0: give them some so that eta_t, lambda_t vary
                    ref.set_parameters(ref.get_parameters() + 0.1 * self.rng.normal(size=ref.n_parameters))
                Y, st = _call(prop, "the model's forward pass", ref.forward, X, return_state=True)
                if not np.isfinite(Y).all():
                    _fail(prop, f"the model's outputs are not finite ({dtype})")
                if has_c:
                    fast = model("c", dtype)
                    fast.set_parameters(ref.get_parameters())
                    Yc, stc = _call(prop, "the model's forward pass (C kernel)", fast.forward, X, return_state=True)
                    tol = 1e-4 if dtype == "float32" else 1e-9
                    for what, a, b in (("outputs", Yc, Y), ("fast weights", stc.fast_weights, st.fast_weights)):
                        err = _rel_err(a, b)
                        if err > tol:
                            _fail(prop, f"{what} with the C kernel differ from those with the NumPy update "
                                        f"by {err:.3g} (relative, {dtype}, tolerance {tol:g})")
                if dtype == "float64" and self.rule.vjp is not None:
                    _, g = _call(prop, "the model's backward pass", ref.value_and_grad, X, Yt)
                    if not np.isfinite(g).all():
                        _fail(prop, "the model's gradient is not finite")
                    if has_c:
                        _, gc = _call(prop, "the model's backward pass (C kernel)", fast.value_and_grad, X, Yt)
                        err = _rel_err(gc, g)
                        if err > 1e-8:
                            _fail(prop, f"the gradient with the C kernel differs from the one with the NumPy "
                                        f"vjp by {err:.3g} (relative, float64)")


def check_rule(rule, *, seed: int = 0) -> list[str]:
    """Check a plasticity rule against the contract the core relies on.

    Parameters
    ----------
    rule : str or PlasticityRule
        A registered rule name, or a rule object (registered or not).
    seed : int
        Seed of the random test inputs.

    Returns
    -------
    list of str
        The properties checked, in order (all passed).

    Raises
    ------
    AssertionError
        Naming the first property that fails, the rule and its plugin's distribution, e.g.
        ``check_rule: rule 'bcm' (plugin 'bcm', distribution ssmn-rule-bcm 0.1.0) fails 'update is
        batched over streams': ...``.

    The properties: declared parameter ranges (defaults inside, values outside refused); ``update``
    returns W's shape and dtype (float32 and float64), leaves its inputs unchanged, and treats a
    batch of B streams as B independent streams; ``vjp`` likewise, and matches central finite
    differences of ``update`` in float64; a ``c_source`` compiles and its ``update``/``vjp``, called
    once for a batch of streams, match the NumPy ones in float32 and float64; inside a small model
    the core's C kernel (built-in ``c_rule_id`` or ``c_source``) gives the outputs, fast weights
    and gradients of the NumPy rule. A rule declaring ``per_stream_rates`` gets eta and decay
    arrays (one distinct rate per stream) in every check, its vjp's deta and ddecay are checked
    like dpre and dpost, and its model runs with neuromodulation and learned decay.
    """
    obj, label = _resolve("rule", rule)
    c = _RuleChecks(obj, seed)
    names = ", ".join(c._names)
    checks = [("declared parameter ranges", c.params_declared),
              ("update returns W's shape and dtype", c.update_shape_dtype),
              ("update leaves its inputs unchanged", c.update_pure),
              ("update is batched over streams", c.update_batched)]
    if obj.vjp is not None:
        checks += [(f"vjp returns ({names}) shaped and typed like its inputs", c.vjp_shape_dtype),
                   ("vjp leaves its inputs unchanged", c.vjp_pure),
                   ("vjp is batched over streams", c.vjp_batched),
                   ("vjp matches central finite differences of update (float64)", c.vjp_finite_differences)]
    if obj.c_source:
        checks.append(("C kernel (c_source) matches the NumPy update and vjp", c.c_source_matches))
    checks.append(("runs in a model, C kernel and NumPy rule agreeing", c.in_model))
    return _run("check_rule", label, checks)


# ---------------------------------------------------------------------------------- variants
class _VariantChecks:
    def __init__(self, variant: ModelVariant, seed: int):
        self.variant, self.rng = variant, np.random.default_rng(seed)

    def _kwargs(self) -> dict:
        if self.variant.token_input:
            return {"vocab_size": 7, "embed_dim": 4}
        return {"input_dim": 3, "output_dim": 2}

    def validate_contract(self) -> None:
        from .config import SSMNConfig

        prop = "validate refuses with ConfigError and otherwise returns None"
        if self.variant.validate is None:
            return
        kw = self._kwargs()
        if self.variant.token_input:
            kw = {"input_dim": kw["embed_dim"], "output_dim": kw["vocab_size"], "vocab_size": kw["vocab_size"]}
        with _InModel(self.variant) as name:
            for n_layers in (1, 2, 5):
                for ratio in (0.0, 0.2, 0.5, 1.0):
                    try:
                        cfg = SSMNConfig(variant=name, hidden_dim=6, n_layers=n_layers, plastic_ratio=ratio, **kw)
                    except ConfigError as e:
                        if not str(e).strip():
                            _fail(prop, f"validate raised a ConfigError without a message (n_layers={n_layers}, "
                                        f"plastic_ratio={ratio})")
                        continue
                    except Exception as e:
                        _fail(prop, f"validate raised {type(e).__name__}: {e} (n_layers={n_layers}, "
                                    f"plastic_ratio={ratio}). HINT: refuse a configuration by raising "
                                    "ssmn_rl.ConfigError naming the argument, what is expected and what was given")
                    ret = _call(prop, "validate", self.variant.validate, cfg)
                    if ret is not None:
                        _fail(prop, f"validate returned {ret!r}; it must return None and refuse by raising "
                                    "ConfigError (a returned False is ignored)")

    def model_runs(self) -> None:
        from .model import SSMN

        prop = "builds a model from its defaults; forward and backward run, gradient matches finite differences"
        B, T = 2, 6
        with _InModel(self.variant) as name:
            m = _call(prop, "building SSMN(variant, ...) with the variant's defaults", SSMN, name, hidden_dim=6,
                      window_size=3, n_layers=5, dtype="float64", seed=0, **self._kwargs())
            D = m.config.output_dim
            if self.variant.token_input:
                X = self.rng.integers(0, m.config.vocab_size, (B, T))
                Yt, loss = self.rng.integers(0, D, (B, T)), "cross_entropy"
            else:
                X = self.rng.normal(size=(B, T, m.config.input_dim))
                Yt, loss = self.rng.normal(size=(B, T, D)), "mse"
            Y = _call(prop, "forward", m.forward, X)
            if Y.shape != (B, T, D) or not np.isfinite(Y).all():
                _fail(prop, f"forward gave {Y.shape} {'finite' if np.isfinite(Y).all() else 'non-finite'} outputs, "
                            f"expected finite outputs of shape {(B, T, D)}")
            # away from the fresh model's exact zeros (zero biases: a ReLU of a dead layer's
            # output sits on its kink, where finite differences average the two one-sided slopes)
            theta = m.get_parameters() + 0.05 * self.rng.normal(size=m.n_parameters)
            m.set_parameters(theta)
            _, g = _call(prop, "value_and_grad", m.value_and_grad, X, Yt, loss=loss)
            if g.shape != theta.shape or not np.isfinite(g).all():
                _fail(prop, f"the gradient has shape {g.shape} (expected {theta.shape}) or is not finite")
            d = self.rng.normal(size=theta.shape)
            d /= np.linalg.norm(d)
            eps = 1e-6
            m.set_parameters(theta + eps * d)
            lp = m.value_and_grad(X, Yt, loss=loss)[0]
            m.set_parameters(theta - eps * d)
            lm = m.value_and_grad(X, Yt, loss=loss)[0]
            m.set_parameters(theta)
            num, ana = (lp - lm) / (2 * eps), float(g @ d)
            if abs(num - ana) > 1e-5 * max(1.0, abs(num)):
                _fail(prop, f"directional derivative {ana:.8g} from the gradient, {num:.8g} from finite differences")


def check_variant(variant, *, seed: int = 0) -> list[str]:
    """Check a model variant: its ``validate`` hook refuses configurations only by raising
    ConfigError (with a message) and otherwise returns None, and a small model built from its
    defaults runs forward and backward (float64), with a gradient that matches finite differences.

    `variant` is a registered name or a :class:`~ssmn_rl.variants.ModelVariant`. Returns the
    properties checked; raises ``AssertionError`` naming the first that fails, the variant and its
    plugin's distribution (see :func:`check_rule`).
    """
    obj, label = _resolve("variant", variant)
    c = _VariantChecks(obj, seed)
    return _run("check_variant", label,
                [("validate refuses with ConfigError and otherwise returns None", c.validate_contract),
                 ("builds a model; forward and backward run; gradient matches finite differences", c.model_runs)])
