"""No import cycles among ssmn_rl's modules.

The graph is built from the source with the standard library's ``ast``, without importing anything:
a node per module of the installed packages (``ssmn_rl``, with ``ssmn_rl.plugins`` in plugins/ and
``ssmn_rl.envs`` in envs/, as pyproject.toml maps them), an edge for every ``import`` and
``from ... import`` that names one of them. What counts:

- imports inside functions count like top-level ones: a lazy import hides a cycle from Python's
  import machinery, not from a reader, and the layering (core <- faces) must hold either way;
- imports under ``if TYPE_CHECKING:`` do not count: they never run and exist only for annotations;
- ``from package import name`` is an edge to ``package.name`` when that is a module, otherwise to
  the package's ``__init__``; importing ``a.b.c`` is an edge to ``a.b.c`` alone, not to the
  ``__init__`` of ``a`` and ``a.b``, which Python runs first but which only re-export (counting
  them would make every module that imports ``ssmn_rl.errors`` part of a cycle through
  ``ssmn_rl/__init__.py``).
"""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = {"ssmn_rl": ROOT / "ssmn_rl", "ssmn_rl.plugins": ROOT / "plugins", "ssmn_rl.envs": ROOT / "envs"}


def _modules() -> dict:
    """module name -> (path, is_package) for every .py file of the packages (examples excluded)."""
    found = {}
    for prefix, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = list(rel.parts)
            if "examples" in parts or any(p.startswith(".") for p in parts):
                continue
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            name = ".".join([prefix, *parts])
            found[name] = (path, is_pkg)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Import nodes of `tree`, at any depth, except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict:
    mods = _modules()
    graph = {}
    for name, (path, is_pkg) in mods.items():
        package = name if is_pkg else name.rpartition(".")[0]
        edges = set()
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            edges.update(t for t in targets if t in mods and t != name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict):
    """One cycle as a list of modules [a, b, ..., a], or None (iterative depth-first search)."""
    colour = dict.fromkeys(graph, 0)  # 0 new, 1 on the current path, 2 done
    for start in sorted(graph):
        if colour[start]:
            continue
        path, iters = [start], [iter(sorted(graph[start]))]
        colour[start] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                colour[path.pop()] = 2
                iters.pop()
            elif colour[nxt] == 1:
                return path[path.index(nxt):] + [nxt]
            elif colour[nxt] == 0:
                colour[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(graph[nxt])))
    return None


def test_the_graph_sees_the_packages_and_their_lazy_imports():
    graph = import_graph()
    assert {"ssmn_rl.model", "ssmn_rl.agents.cli", "ssmn_rl.plugins.rule_hebbian", "ssmn_rl.envs"} <= set(graph)
    assert "ssmn_rl.hookspec" in graph["ssmn_rl.plugins.rule_hebbian"]
    assert "ssmn_rl.analysis" in graph["ssmn_rl.model"]  # imported inside a method


def test_find_cycle_reports_a_cycle_and_passes_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_among_ssmn_rl_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, ("import cycle: " + " -> ".join(cycle) +
                           ". HINT: move what both need into a module that imports neither")
