"""Every ```python block of the README runs, so the documentation cannot drift from the code.

The block reader and runner here are shared with tests/test_docs.py (the docs site). A block that
cannot run in the test suite (it needs a GPU, a cluster, a file the reader brings...) is marked by
an HTML comment on the line just above its fence, which Markdown renders as nothing::

    <!-- not-run: needs a Ray cluster -->
    ```python
    ...
    ```

and is reported as skipped with that reason; a marker without a reason is an error.
"""
import dataclasses
import pathlib
import re

import pytest

import ssmn_rl
from ssmn_rl import plugin_manager

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", flags=re.S | re.M)
_NOT_RUN = re.compile(r"<!--\s*not-run:(.*?)-->\s*$")


@dataclasses.dataclass(frozen=True)
class Block:
    """One ```python block: where it is, its code, and why it is not run (None: it runs)."""

    path: pathlib.Path
    index: int
    line: int
    code: str
    not_run: str | None

    @property
    def name(self) -> str:
        path = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{path}:{self.line} (python block {self.index})"


def python_blocks(path: pathlib.Path) -> list[Block]:
    """The ```python blocks of a Markdown file, in order, with their not-run markers."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for i, m in enumerate(_FENCE.finditer(text)):
        line = text.count("\n", 0, m.start()) + 1
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = _NOT_RUN.search(before)
        reason = marker.group(1).strip() if marker else None
        if marker and not reason:
            raise ValueError(f"{path}:{line}: a not-run marker needs a reason: <!-- not-run: why -->")
        blocks.append(Block(path, i, line, m.group(1), reason))
    return blocks


def run_blocks(blocks, workdir: pathlib.Path, monkeypatch) -> None:
    """Run `blocks` in order in one namespace (as a reader pasting them into one Python session
    would), from `workdir`; blocks marked not-run are left out. Plugins the blocks register at run
    time are unregistered afterwards, so that one page cannot leak into the next."""
    monkeypatch.chdir(workdir)
    before = {name for _, name in plugin_manager._runtime_plugins}
    namespace = {"__name__": "docs_example"}
    try:
        for b in blocks:
            if b.not_run is None:
                exec(compile(b.code, b.name, "exec"), namespace)
    finally:
        for name in {name for _, name in plugin_manager._runtime_plugins} - before:
            ssmn_rl.unregister_plugin(name)
        try:
            import matplotlib.pyplot as plt
            plt.close("all")
        except ImportError:
            pass


BLOCKS = python_blocks(README)


def test_readme_has_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index, tmp_path, monkeypatch):
    """README blocks are self-contained: each runs alone, in a fresh namespace."""
    block = BLOCKS[index]
    if block.not_run:
        pytest.skip(f"{block.name}: {block.not_run}")
    run_blocks([block], tmp_path, monkeypatch)


def test_not_run_markers_need_a_reason(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- not-run: needs a cluster -->\n```python\nraise SystemExit\n```\n\n"
                    "```python\nx = 1\n```\n")
    a, b = python_blocks(page)
    assert (a.not_run, b.not_run, a.line, b.line, b.code) == ("needs a cluster", None, 2, 6, "x = 1\n")
    page.write_text("<!-- not-run: -->\n```python\nx = 1\n```\n")
    with pytest.raises(ValueError, match="needs a reason"):
        python_blocks(page)


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_feature_table_names_tests_that_exist():
    """Every `tests/<file>::<test>` of the "What works" table is a test function of that file."""
    table = _section("What works")
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", table)
    assert len(named) >= 20
    rows = [line for line in table.splitlines() if line.startswith("| ") and "tests/" in line]
    assert all("::" in row for row in rows)
    for path, name in named:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, flags=re.M), f"README names {path}::{name}, which does not exist"


def test_readme_images_exist():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text(encoding="utf-8"))
    assert 2 <= len(images) <= 4
    for target in images:
        assert (ROOT / target).is_file(), f"README shows a missing {target}"
