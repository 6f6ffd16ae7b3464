"""How a model's plasticity rule runs inside the C core.

Three ways, chosen from the rule and ``rule_backend``: a built-in C rule (an id in the config),
a third-party rule's C source compiled by cffi (function pointers), or the rule's NumPy functions
called back from the kernel (cffi callbacks; slower, same results). An external rule (the last
two) is called once per step and plastic layer with every stream (and head) of the call at once:
W (n, H, H), pre and post (n, H), n = streams x heads.
An exception raised inside a NumPy rule is kept and re-raised after the kernel returns, naming
the rule, its plugin's distribution and the function (``update`` or ``vjp``) that failed.
"""
from __future__ import annotations

import numpy as np

from ._ssmn_native import ffi
from .custom_rules import compile_rule
from .errors import ConfigError, SSMNError
from .plugin_manager import describe

EXTERNAL_RULE_ID = 100
_UPDATE_SIG = "int(void *, void *, const void *, const void *, const void *, const void *, int64_t, int64_t)"
_VJP_SIG = ("int(void *, void *, void *, void *, void *, void *, const void *, const void *, const void *, "
            "const void *, const void *, int64_t, int64_t)")


class RuleError(SSMNError, RuntimeError):
    """A plugin rule's update or vjp raised, returned an error, or produced NaN/inf."""


class RuleBinding:
    """Fills the rule fields of a C config and keeps alive what the pointers refer to."""

    def __init__(self, cfg, rule):
        self.rule = rule
        self.cfg = cfg
        self.dtype = np.dtype(cfg.dtype)
        self.error: BaseException | None = None
        self.label = describe(rule)  # "rule 'bcm' (plugin 'bcm', distribution ssmn-rule-bcm 0.1.0)"
        self._where = "update"  # the NumPy function running when a callback fails
        backend = cfg.rule_backend
        if backend == "numpy" or (backend == "auto" and rule.c_rule_id is None and not rule.c_source):
            self.kind = "numpy"
        elif rule.c_rule_id is not None:
            self.kind = "builtin"
        else:
            self.kind = "compiled"
        self._keep = []

    @property
    def has_gradient(self) -> bool:
        return self.kind == "builtin" or self.rule.vjp is not None

    def fill(self, c_cfg) -> None:
        cfg, rule = self.cfg, self.rule
        values = list(cfg.rule_params.values())
        for i in range(4):
            c_cfg.rule_params[i] = values[i] if i < len(values) else 0.0
        c_cfg.rule_ctx = c_cfg.rule_update = c_cfg.rule_vjp = ffi.NULL
        if self.kind == "builtin":
            c_cfg.rule = rule.c_rule_id
            return
        c_cfg.rule = EXTERNAL_RULE_ID
        if self.kind == "compiled":
            rffi, rlib = compile_rule(rule.name, rule.c_source, rule.vjp is not None, label=self.label)
            ctx = ffi.new("double[]", [*values, 0.0])  # the rule's parameters (never empty)
            suf = "f32" if self.dtype == np.float32 else "f64"

            def addr(fname):
                return ffi.cast("void *", int(rffi.cast("uintptr_t", rffi.addressof(rlib, f"{fname}_{suf}"))))

            self._keep = [ctx, rlib]
            c_cfg.rule_ctx = ctx
            c_cfg.rule_update = addr("update")
            c_cfg.rule_vjp = addr("vjp") if rule.vjp is not None else ffi.NULL
            return
        upd = ffi.callback(_UPDATE_SIG, self._update, onerror=self._onerror)
        vjp = ffi.callback(_VJP_SIG, self._vjp, onerror=self._onerror) if rule.vjp is not None else ffi.NULL
        self._keep = [upd, vjp]
        c_cfg.rule_update = ffi.cast("void *", upd)
        c_cfg.rule_vjp = ffi.cast("void *", vjp) if rule.vjp is not None else ffi.NULL

    # ---------------------------------------------------------------- NumPy callbacks
    def _view(self, ptr, shape) -> np.ndarray:
        n = int(np.prod(shape))
        return np.frombuffer(ffi.buffer(ffi.cast("char *", ptr), n * self.dtype.itemsize),
                             dtype=self.dtype).reshape(shape)

    def _rates(self, eta, decay, n):
        """What the NumPy functions get as eta and decay: per-block arrays (n,) for a rule that
        takes them (``per_stream_rates``), else the model's fixed values."""
        if self.rule.per_stream_rates:
            return self._view(eta, (n,)).copy(), self._view(decay, (n,)).copy()
        return self.cfg.plasticity_eta, self.cfg.decay_lambda

    def _result(self, what: str, value, shape: tuple) -> np.ndarray:
        """`value` as an array of `shape`, or a RuleError naming the rule function and the shapes."""
        try:
            arr = np.asarray(value, dtype=self.dtype)
        except (TypeError, ValueError) as e:
            raise RuleError(f"{self.label}: {what} returned {type(value).__name__}, which is not a real "
                            f"array ({e})") from None
        if arr.shape != shape:
            raise RuleError(f"{self.label}: {what} returned shape {arr.shape}, expected {shape}. HINT: the "
                            "arrays are batched over streams (W is (B, H, H), pre and post (B, H)); keep "
                            "the leading B axis, e.g. post[:, :, None] * pre[:, None, :] instead of "
                            "np.outer (ssmn_rl.testing.check_rule finds such bugs)")
        return arr

    def _update(self, ctx, W, pre, post, eta, decay, n, H):
        self._where = "update"
        Wv = self._view(W, (n, H, H))
        out = self.rule.update(Wv.copy(), self._view(pre, (n, H)).copy(), self._view(post, (n, H)).copy(),
                               *self._rates(eta, decay, n), **self.cfg.rule_params)
        Wv[...] = self._result("update", out, (n, H, H))
        return 0

    def _vjp(self, ctx, G, dpre, dpost, deta, ddecay, W, pre, post, eta, decay, n, H):
        self._where = "vjp"
        Gv = self._view(G, (n, H, H))
        res = self.rule.vjp(Gv.copy(), self._view(W, (n, H, H)).copy(), self._view(pre, (n, H)).copy(),
                            self._view(post, (n, H)).copy(), *self._rates(eta, decay, n), **self.cfg.rule_params)
        want = 5 if self.rule.per_stream_rates else 3
        if not isinstance(res, (tuple, list)) or len(res) != want:
            got = type(res).__name__ + (f" of {len(res)}" if isinstance(res, (tuple, list)) else "")
            raise RuleError(f"{self.label}: vjp must return a tuple "
                            f"{'(dW, dpre, dpost, deta, ddecay)' if want == 5 else '(dW, dpre, dpost)'}, got {got}")
        Gv[...] = self._result("vjp's dW", res[0], (n, H, H))
        self._view(dpre, (n, H))[...] += self._result("vjp's dpre", res[1], (n, H))
        self._view(dpost, (n, H))[...] += self._result("vjp's dpost", res[2], (n, H))
        for name, ptr, value in (("deta", deta, res[3:4]), ("ddecay", ddecay, res[4:5])):
            if value and ptr != ffi.NULL:
                self._view(ptr, (n,))[...] += self._result(f"vjp's {name}", value[0], (n,))
        return 0

    def _onerror(self, exc_type, exc_value, tb):
        if self.error is None:
            self.error = exc_value if exc_value is not None else exc_type()
        return 1

    def raise_pending(self, status_failed: bool) -> None:
        """Re-raise what a NumPy rule raised during the last kernel call (clears it)."""
        err, self.error = self.error, None
        if isinstance(err, RuleError):
            raise err
        if err is not None:
            raise RuleError(f"plasticity {self.label}: {self._where} raised {type(err).__name__}: {err}") from err
        if status_failed:
            raise RuleError(f"plasticity {self.label} failed or produced NaN/inf "
                            "(its update or vjp returned an error)")

    def require_gradient(self) -> None:
        if not self.has_gradient:
            raise ConfigError(f"{self.label} has no vjp, so the model cannot be trained by "
                              "gradient. HINT: add a vjp to the rule, or train without gradients "
                              "(evolution strategies).")
