"""The documentation site (docs/, mkdocs.yml) builds without a warning, and what it shows is true:
every ```python block of every page runs (blocks of one page in order, in one namespace, like a
reader's session; the not-run convention and the runner are those of tests/test_readme.py), the
command-line help quoted in docs/cli.md is what the commands print, and the quickstart page quotes
the README's two commands word for word.

After changing the command line, regenerate the quoted help with
``python tests/test_docs.py --update-cli``.
"""
import argparse
import contextlib
import io
import os
import re
import subprocess
import sys

import pytest

from test_readme import README, ROOT, python_blocks, run_blocks

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
RUNNABLE = [p for p in PAGES if python_blocks(p)]
CLI_PAGE = DOCS / "cli.md"
_CLI_BLOCK = re.compile(r"<!-- cli-help: (ssmn-rl[\w -]*?) -->\n```text\n(.*?)```", flags=re.S)
HELP_COLUMNS = "100"


def test_docs_have_the_pages_the_nav_names():
    nav = (ROOT / "mkdocs.yml").read_text()
    named = set(re.findall(r":\s*([\w/.-]+\.md)\s*$", nav, flags=re.M))
    assert named == {str(p.relative_to(DOCS)) for p in PAGES}


@pytest.mark.parametrize("page", RUNNABLE, ids=[str(p.relative_to(DOCS)) for p in RUNNABLE])
def test_docs_page_runs(page, tmp_path, monkeypatch):
    """A reader pasting a page's blocks into one Python session, in a fresh folder, gets no error.
    (Compiled plugin rules go to a temporary cache, not the user's.)"""
    monkeypatch.setenv("SSMN_RL_CACHE", str(tmp_path / "cache"))
    blocks = python_blocks(page)
    skipped = [b for b in blocks if b.not_run]
    run_blocks(blocks, tmp_path, monkeypatch)
    for b in skipped:
        print(f"not run: {b.name}: {b.not_run}")


def test_mkdocs_build_strict(tmp_path):
    """`mkdocs build --strict` (what CI runs) succeeds without a single warning, and the API
    reference really holds the docstrings."""
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install -e '.[docs]')")
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONWARNINGS": "ignore"})
    log = r.stdout + r.stderr
    assert r.returncode == 0, log[-4000:]
    assert not [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))], log[-4000:]
    model_page = (site / "api" / "model" / "index.html").read_text()
    assert "value_and_grad" in model_page and "exact gradient" in model_page
    assert (site / "img" / "stream_recall.png").is_file()
    assert not (site / "hooks.py").exists()


def test_docs_images_exist():
    for page in PAGES:
        for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text()):
            assert (page.parent / target).is_file(), f"{page.relative_to(ROOT)} shows a missing {target}"


def test_quickstart_quotes_the_readme_commands():
    def first_bash(text):
        return re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1)

    readme = README.read_text()
    quick = readme[readme.index("## Quickstart"):]
    assert first_bash((DOCS / "quickstart.md").read_text()) == first_bash(quick)


# ---------------------------------------------------------------------------------- CLI help
def cli_help(command: str) -> str:
    """What `command --help` prints at HELP_COLUMNS columns (run in this process)."""
    from ssmn_rl.cli import main

    out = io.StringIO()
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_COLUMNS
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main(command.split()[1:] + ["--help"])
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    return out.getvalue()


def _quoted_help() -> list[tuple[str, str]]:
    return _CLI_BLOCK.findall(CLI_PAGE.read_text())


def test_cli_page_quotes_every_command():
    from ssmn_rl.cli import build_parser

    def commands(parser, prefix):
        yield prefix
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from commands(sub, f"{prefix} {name}")

    assert {command for command, _ in _quoted_help()} == set(commands(build_parser(), "ssmn-rl"))


@pytest.mark.parametrize("command,text", _quoted_help(), ids=[c for c, _ in _quoted_help()])
def test_cli_help_in_the_docs_is_current(command, text):
    assert text == cli_help(command), (f"docs/cli.md quotes an old `{command} --help`; regenerate with "
                                       "`python tests/test_docs.py --update-cli`")


def update_cli_page() -> None:
    """Rewrite the help texts quoted in docs/cli.md from the current command line."""
    page = CLI_PAGE.read_text()
    new = _CLI_BLOCK.sub(lambda m: f"<!-- cli-help: {m.group(1)} -->\n```text\n{cli_help(m.group(1))}```", page)
    CLI_PAGE.write_text(new)
    print(f"updated {len(_quoted_help())} help texts in {CLI_PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--update-cli"]:
        update_cli_page()
    else:
        sys.exit("usage: python tests/test_docs.py --update-cli")
