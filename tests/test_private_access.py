"""No module reads the model's (or the agents') private attributes from outside the module that
defines them.

`SSMN` is a facade over a :class:`~ssmn_rl.core.Core`, the sequence calls and the streams; what
other modules (agents, estimators, the language model, populations, analysis, the CLI) need of it
is public: ``model.core``, ``model.parameters``, ``model.token_input``, ``model.state``... A read
such as ``model._params`` in another module would tie that module to the facade's insides again.
The agents' base class and the rollout backends are held to the same rule: the CLI, callbacks and
env runners read ``agent.target_timesteps``, ``agent.hyperparameters()`` and ``backend.started``.

The check is a scan of the source with ``ast`` (nothing is imported): every ``<expr>._name``
attribute (and ``getattr/setattr/hasattr(<expr>, "_name")``) whose ``<expr>`` is not ``self`` or
``cls``, in any module of the installed packages, is a violation when ``_name`` is a private
attribute or method of one of the model's classes and the module is not the one defining that
class. Names are collected from the classes themselves (methods, ``self._x = ...`` targets,
``__slots__``), so a new private attribute is covered as soon as it exists. No allow-list.
"""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = {"ssmn_rl": ROOT / "ssmn_rl", "ssmn_rl.plugins": ROOT / "plugins", "ssmn_rl.envs": ROOT / "envs"}

#: The model's classes (the facade and what it delegates to) and the agents', by defining file.
MODEL_CLASSES = {
    "ssmn_rl/model.py": ("SSMN",),
    "ssmn_rl/core.py": ("Core",),
    "ssmn_rl/stream.py": ("Stream", "LiveStream"),
    "ssmn_rl/agents/common/base.py": ("BaseAgent",),
    "ssmn_rl/agents/common/backends.py": ("Backend", "InlineBackend", "ProcessBackend", "RayBackend"),
}
#: Modules of the model whose private names (functions, constants) no other module imports.
MODEL_MODULES = ("ssmn_rl.model", "ssmn_rl.core", "ssmn_rl.stream", "ssmn_rl.sequence",
                 "ssmn_rl.inputs", "ssmn_rl.generation", "ssmn_rl.state", "ssmn_rl.config")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _sources():
    """(path relative to the repository, module name, is a package, source) of every module."""
    for prefix, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if "examples" in parts or any(p.startswith(".") for p in parts):
                continue
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            yield path.relative_to(ROOT).as_posix(), ".".join([prefix, *parts]), is_pkg, path.read_text()


def private_names(source: str, class_name: str) -> set:
    """Private attributes and methods of `class_name` in `source`."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.ClassDef) and node.name == class_name):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and _private(sub.name):
                names.add(sub.name)
            elif isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store) and _private(sub.attr):
                names.add(sub.attr)
            elif isinstance(sub, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__slots__"
                                                     for t in sub.targets):
                names.update(e.value for e in ast.walk(sub.value)
                             if isinstance(e, ast.Constant) and isinstance(e.value, str) and _private(e.value))
    return names


def private_reads(source: str, names: set) -> list:
    """(line, text) of every access to one of `names` on something other than self or cls."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in names:
            owner = node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr", "delattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in names):
            owner = node.args[0]
        else:
            continue
        if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
            found.append((node.lineno, ast.unparse(node)))
    return found


def private_imports(source: str, module: str, from_modules, is_pkg: bool = False) -> list:
    """(line, text) of every ``from <one of from_modules> import _name`` in `module`."""
    package = module if is_pkg else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        if base in from_modules:
            found += [(node.lineno, f"from {base} import {a.name}") for a in node.names if _private(a.name)]
    return found


def model_private_names() -> dict:
    """{defining file: private names of its model classes}."""
    out = {}
    for path, classes in MODEL_CLASSES.items():
        source = (ROOT / path).read_text()
        out[path] = set().union(*(private_names(source, c) for c in classes))
        assert out[path], f"found no private names in {classes} of {path}: is the table current?"
    return out


def test_the_scan_finds_a_private_read_and_ignores_self():
    names = private_names("class SSMN:\n    __slots__ = ('_x',)\n    def _f(self):\n        self._p = 1\n",
                          "SSMN")
    assert names == {"_x", "_f", "_p"}
    src = "def f(model, self):\n    a = model._p\n    b = self._p\n    c = getattr(model, '_x')\n    model.p\n"
    assert [line for line, _ in private_reads(src, names)] == [2, 4]
    assert private_imports("from .model import _f, SSMN\n", "ssmn_rl.population", {"ssmn_rl.model"}) == \
        [(1, "from ssmn_rl.model import _f")]


def test_the_model_classes_have_the_private_attributes_the_scan_looks_for():
    names = model_private_names()
    assert {"_core", "_params", "_live"} <= names["ssmn_rl/model.py"]
    assert {"_scratch_pool", "_n_threads"} <= names["ssmn_rl/core.py"]


def test_no_module_reads_a_private_attribute_of_the_model():
    names = model_private_names()
    bad = []
    for path, _, _, source in _sources():
        for owner, private in names.items():
            if path != owner:
                bad += [f"{path}:{line}: {text}" for line, text in private_reads(source, private)]
    assert not bad, ("private attributes of the model read outside their module:\n  " + "\n  ".join(bad) +
                     "\nHINT: use (or add) a documented public property or method of SSMN or Core, "
                     "or pass what is needed as an argument")


def test_no_module_imports_a_private_name_of_the_model_modules():
    bad = []
    for path, module, is_pkg, source in _sources():
        others = set(MODEL_MODULES) - {module}
        bad += [f"{path}:{line}: {text}" for line, text in private_imports(source, module, others, is_pkg)]
    assert not bad, ("private names of the model's modules imported elsewhere:\n  " + "\n  ".join(bad) +
                     "\nHINT: make the name public (and document it) or keep its use in its module")
