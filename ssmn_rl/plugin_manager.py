"""The plugin manager: loads built-in and third-party plugins and keeps the rule/variant registry.

Built-in plugins (modules of ``ssmn_rl.plugins``) are registered through the same call as the
third-party modules named in the ``ssmn_rl`` entry-point group. Setting the environment variable
``SSMN_RL_DISABLE_PLUGIN_AUTOLOAD=1`` skips the entry points. A plugin that fails to import, whose
hooks do not match the specifications, that raises, or that registers something invalid is left
out with a :class:`PluginWarning` naming it and its distribution; every other plugin still works,
and the failure stays listed in ``registry().failures`` (and in ``ssmn-rl plugins``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.metadata
import os
import threading
import warnings

import pluggy

from . import hookspec
from .errors import ConfigError
from .rules import PlasticityRule, validate_rule
from .variants import ModelVariant, validate_variant

ENTRY_POINT_GROUP = "ssmn_rl"
DISABLE_AUTOLOAD_ENV = "SSMN_RL_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_PLUGINS = (
    "ssmn_rl.plugins.variant_standard",
    "ssmn_rl.plugins.variant_custom_split",
    "ssmn_rl.plugins.variant_text_native",
    "ssmn_rl.plugins.rule_hebbian",
    "ssmn_rl.plugins.rule_importance",
    "ssmn_rl.plugins.rule_oja",
    "ssmn_rl.plugins.rule_delta",
)


class PluginWarning(UserWarning):
    """A plugin could not be loaded or registered something invalid; it was skipped."""


@dataclasses.dataclass(frozen=True)
class PluginSource:
    """Where a registered item came from."""

    plugin: str
    distribution: str
    version: str
    builtin: bool


@dataclasses.dataclass(frozen=True)
class PluginFailure:
    plugin: str
    distribution: str
    version: str
    error: str

    def message(self) -> str:
        return (f"plugin {self.plugin!r} from distribution {self.distribution} {self.version} was "
                f"skipped: {self.error}")


@dataclasses.dataclass
class Registry:
    rules: dict = dataclasses.field(default_factory=dict)      # name -> (PlasticityRule, PluginSource)
    variants: dict = dataclasses.field(default_factory=dict)   # name -> (ModelVariant, PluginSource)
    failures: list = dataclasses.field(default_factory=list)   # [PluginFailure]
    manager: pluggy.PluginManager | None = None


_lock = threading.RLock()
_registry: Registry | None = None
_runtime_plugins: list = []  # (plugin object, name) added with register_plugin()


def _fail(reg: Registry, src: PluginSource, error: str) -> None:
    f = PluginFailure(src.plugin, src.distribution, src.version, error)
    reg.failures.append(f)
    warnings.warn(f.message(), PluginWarning, stacklevel=3)


def _collect(reg: Registry, hook_name: str, kind: str, check, target: dict, sources: dict) -> None:
    caller = getattr(reg.manager.hook, hook_name)
    for impl in caller.get_hookimpls():  # registration order: built-ins first
        src = sources[impl.plugin_name]
        try:
            items = impl.function()
        except Exception as e:  # a broken plugin must not take the others down
            _fail(reg, src, f"{hook_name}() failed: {type(e).__name__}: {e}")
            continue
        try:
            if not isinstance(items, (list, tuple)):
                raise TypeError(f"{hook_name}() must return a list, got {type(items).__name__}")
            checked = [check(item) for item in items]
        except (TypeError, ValueError) as e:
            _fail(reg, src, f"registered an invalid {kind}: {e}")
            continue
        for item in checked:
            if item.name in target:
                other = target[item.name][1]
                _fail(reg, src, f"{kind} {item.name!r} is already registered by plugin "
                                f"{other.plugin!r} ({other.distribution})")
                continue
            target[item.name] = (item, src)


def _unmarked_hooks(module) -> list[str]:
    """Names of `module`'s callables that look like hook implementations but lack ``@hookimpl``."""
    return sorted(n for n in dir(module) if n.startswith("ssmn_rl_") and callable(getattr(module, n, None)))


def _register(reg: Registry, module, src: PluginSource, sources: dict) -> None:
    pm = reg.manager
    try:
        pm.register(module, name=src.plugin)
        pm.check_pending()
    except Exception as e:
        if pm.is_registered(module):
            pm.unregister(module)
        _fail(reg, src, f"invalid plugin: {type(e).__name__}: {e}")
        return
    if not pm.get_hookcallers(module):  # pluggy silently ignores a module without @hookimpl
        pm.unregister(module)
        unmarked = _unmarked_hooks(module)
        found = (f"its function(s) {unmarked} are not marked with @hookimpl" if unmarked else
                 "it defines no ssmn_rl_register_rules or ssmn_rl_register_variants")
        _fail(reg, src, f"registers nothing: {found}. HINT: decorate them with "
                        "`from ssmn_rl.hookspec import hookimpl` / `@hookimpl`")
        return
    sources[src.plugin] = src


def load_registry() -> Registry:
    """Build a fresh registry: built-in plugins, then the entry points (unless disabled)."""
    from ._version import __version__

    reg = Registry(manager=pluggy.PluginManager("ssmn_rl"))
    reg.manager.add_hookspecs(hookspec)
    sources: dict = {}
    for modname in BUILTIN_PLUGINS:
        _register(reg, importlib.import_module(modname),
                  PluginSource(modname.rsplit(".", 1)[-1], "ssmn_rl", __version__, True), sources)
    if os.environ.get(DISABLE_AUTOLOAD_ENV, "") in ("", "0"):
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else "unknown"
            version = ep.dist.version if ep.dist is not None else "?"
            src = PluginSource(ep.name, dist, version, False)
            if ep.name in sources:
                _fail(reg, src, f"plugin name {ep.name!r} is already taken")
                continue
            try:
                module = ep.load()
            except Exception as e:
                _fail(reg, src, f"import failed: {type(e).__name__}: {e}")
                continue
            _register(reg, module, src, sources)
    for obj, name in _runtime_plugins:
        _register(reg, obj, PluginSource(name, "<runtime>", "-", False), sources)
    _collect(reg, "ssmn_rl_register_variants", "variant", validate_variant, reg.variants, sources)
    _collect(reg, "ssmn_rl_register_rules", "rule", validate_rule, reg.rules, sources)
    return reg


def registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = load_registry()
        return _registry


def reload_plugins() -> Registry:
    """Forget the loaded plugins and load them again (after installing a plugin at run time)."""
    global _registry
    with _lock:
        _registry = None
    return registry()


def register_plugin(plugin, name: str | None = None) -> Registry:
    """Register a plugin object or module at run time (a notebook, a script) and reload the
    registry. Packages should use the ``ssmn_rl`` entry-point group instead."""
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    with _lock:
        _runtime_plugins.append((plugin, name))
    return reload_plugins()


def unregister_plugin(name: str) -> Registry:
    """Remove a plugin added with register_plugin() and reload the registry."""
    with _lock:
        _runtime_plugins[:] = [(o, n) for o, n in _runtime_plugins if n != name]
    return reload_plugins()


def source_of(item) -> PluginSource | None:
    """Where a registered rule or variant came from; None when `item` (the object itself, not an
    equal copy) is not in the registry."""
    table = registry().rules if isinstance(item, PlasticityRule) else registry().variants
    found = table.get(getattr(item, "name", None))
    return found[1] if found is not None and found[0] is item else None


def describe(item) -> str:
    """``rule 'bcm' (plugin 'bcm', distribution ssmn-rule-bcm 0.1.0)``: a rule or variant and where
    it came from, for error messages."""
    kind = "rule" if isinstance(item, PlasticityRule) else "variant"
    src = source_of(item)
    if src is None:
        return f"{kind} {item.name!r} (not registered)"
    return f"{kind} {item.name!r} (plugin {src.plugin!r}, distribution {src.distribution} {src.version})"


@contextlib.contextmanager
def temporarily_registered(plugin, name: str):
    """Register `plugin` at run time for the duration of a ``with`` block (used by
    :mod:`ssmn_rl.testing` to run an unregistered rule inside a model). The registry is reloaded on
    entry and exit; the warnings of broken plugins are not repeated."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        register_plugin(plugin, name)
    try:
        yield registry()
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginWarning)
            unregister_plugin(name)


def _unknown(kind: str, name, available) -> ConfigError:
    failed = registry().failures
    extra = ""
    if failed:
        extra = " Plugins that failed to load: " + "; ".join(f.message() for f in failed)
    return ConfigError(f"unknown {kind} {name!r}; available: {sorted(available)}.{extra}")


def get_rule(name: str) -> PlasticityRule:
    rules = registry().rules
    if name not in rules:
        raise _unknown("rule", name, rules)
    return rules[name][0]


def get_variant(name: str) -> ModelVariant:
    variants = registry().variants
    if name not in variants:
        raise _unknown("variant", name, variants)
    return variants[name][0]


def _row(item, src: PluginSource, **extra) -> dict:
    return {"name": item.name, "plugin": src.plugin, "distribution": src.distribution,
            "version": src.version, "builtin": src.builtin, "doc": item.doc, **extra}


def list_rules() -> list[dict]:
    """Registered plasticity rules with their source package, version and parameters."""
    out = []
    for rule, src in registry().rules.values():
        kernel = "C (core)" if rule.c_rule_id is not None else ("C (plugin)" if rule.c_source else "NumPy")
        out.append(_row(rule, src, kernel=kernel, gradient=rule.vjp is not None or rule.c_rule_id is not None,
                        params={k: p.default for k, p in rule.params.items()}))
    return out


def list_variants() -> list[dict]:
    """Registered model variants with their source package and version."""
    return [_row(v, src) for v, src in registry().variants.values()]
