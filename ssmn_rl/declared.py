"""A declared parameter (:class:`Option`: name, default, constraints, type text, description) and
the helpers that write a docstring's "Parameters" section from declarations.

Shared by the estimator-style faces (:mod:`ssmn_rl.options`, whose constraints are scikit-learn's)
and the agents (:mod:`ssmn_rl.agents.common.arguments`, whose light constraints keep scikit-learn
out of the agents' import). It imports nothing beyond the standard library.
"""
from __future__ import annotations

import dataclasses
import textwrap


@dataclasses.dataclass(frozen=True)
class Option:
    """One constructor parameter.

    name, default
        As in the signature (defaults must be immutable: None, numbers, strings, booleans).
    constraints
        What the value may be, any one of the list: scikit-learn's ``_parameter_constraints`` entry
        for the estimators (``Interval``, ``StrOptions``, types...), the light equivalents of
        :mod:`ssmn_rl.agents.common.arguments` for the agents.
    kind
        The numpydoc type text, e.g. ``"int >= 1"``; ", default=..." is appended.
    doc
        The numpydoc description (one paragraph; wrapped when rendered).
    convert
        Applied to the value before it is passed on (e.g. ``bool`` for NumPy booleans), or None.
    """

    name: str
    default: object
    constraints: list
    kind: str
    doc: str
    convert: object = None

    def value(self, est):
        """The estimator's value of this option, converted for the code it is passed to."""
        v = getattr(est, self.name)
        return v if self.convert is None or v is None else self.convert(v)


def _default_text(v) -> str:
    return f'"{v}"' if isinstance(v, str) else repr(v)


def parameters_section(options, indent: str = "    ") -> str:
    """The numpydoc entries of ``options`` (what follows a "Parameters" header)."""
    lines = []
    for o in options:
        lines.append(f"{indent}{o.name} : {o.kind}, default={_default_text(o.default)}")
        lines.extend(textwrap.wrap(o.doc, 96, initial_indent=indent * 2, subsequent_indent=indent * 2))
    return "\n".join(lines) + "\n"


def document(doc: str, options, marker: str = "{parameters}") -> str:
    """``doc`` with the line holding ``marker`` replaced by the entries of ``options``."""
    for line in doc.splitlines():
        if line.strip() == marker:
            indent = line[: len(line) - len(line.lstrip())]
            return doc.replace(line + "\n", parameters_section(options, indent))
    raise ValueError(f"the docstring has no line {marker!r} to put the parameters in")
