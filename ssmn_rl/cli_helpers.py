"""Pieces shared by every ``ssmn-rl`` subcommand's parser: the help formatter, the parser whose
usage errors end with a HINT, ``fail`` (one error line plus a HINT on stderr) and argparse types.

Both the top-level CLI (:mod:`ssmn_rl.cli`) and the agents' subcommands (:mod:`ssmn_rl.agents.cli`)
import from here, so neither imports the other's module for these helpers.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import sys
import warnings

PROG = "ssmn-rl"


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions and epilogs line by line, keeping indented lines (examples) as written,
    and appends ``(default: X)`` to every option's help unless the help already says what the
    default is (options whose default is None must say it in words)."""

    def _fill_text(self, text, width, indent):
        import textwrap

        out = []
        for line in text.splitlines():
            if not line.strip() or line[:1].isspace():
                out.append(indent + line)
            else:
                out.extend(textwrap.wrap(line, width, initial_indent=indent, subsequent_indent=indent))
        return "\n".join(out)

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, argparse.SUPPRESS):
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)"
        return text


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors end with a HINT line pointing at ``--help``."""

    def error(self, message):
        self.print_usage(sys.stderr)
        hint = f"`{self.prog} --help` lists every option with its default."
        if "invalid choice" in message and ("COMMAND" in message or "KIND" in message):
            hint = f"`{self.prog} --help` lists the choices; `{self.prog} CHOICE --help` their options."
        if "HINT:" in message:
            self.exit(2, f"{self.prog}: error: {message}\n")
        self.exit(2, f"{self.prog}: error: {message}\nHINT: {hint}\n")


def fail(command: str, message: str, hint: str | None = None, code: int = 2) -> int:
    """Print ``ssmn-rl COMMAND: error: message`` and a HINT line to stderr; return `code`.
    A message that already carries its own HINT is printed as it is."""
    text = str(message).strip()
    lines = [f"{PROG} {command}: error: {text}"]
    if "HINT:" not in text:
        lines.append(f"HINT: {hint or f'`{PROG} {command} --help` lists the options and their defaults.'}")
    print("\n".join(lines), file=sys.stderr)
    return code


def _int_at_least(minimum: int):
    """An argparse type accepting integers >= minimum."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    return parse


positive_int = _int_at_least(1)
non_negative_int = _int_at_least(0)


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {value}")
    return value


def add_parser(subparsers, name: str, help: str, description: str | None = None, epilog: str | None = None):
    """A subcommand parser with the shared formatter (options with defaults, examples kept)."""
    return subparsers.add_parser(name, help=help, description=description or help[0].upper() + help[1:] + ".",
                                 epilog=epilog, formatter_class=HelpFormatter)


@contextlib.contextmanager
def warnings_as_lines(command: str, skip=()):
    """Collect the warnings raised in the block and print each, after it, as one line on stderr:
    ``ssmn-rl COMMAND: warning: Category: first line of the message`` (instead of Python's
    two-line format that shows a library source line, e.g. in the middle of a table). Messages in
    `skip` (already shown elsewhere, e.g. in the table) are not repeated."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            yield
        finally:
            seen = set(skip)
            for w in caught:
                text = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
                if str(w.message) in seen or text in seen:
                    continue
                seen.add(text)
                print(f"{PROG} {command}: warning: {w.category.__name__}: {text}", file=sys.stderr)
