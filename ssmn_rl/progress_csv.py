"""Reading the ``progress.csv`` files that training runs write (see
:class:`ssmn_rl.agents.common.logger.Logger`), for the agents that resume from them and for the
plots that draw them. A neutral module so that plotting need not import the agents."""
from __future__ import annotations

import csv
import math


def read_csv(path) -> list[dict]:
    """Rows of a ``progress.csv`` as dicts of floats (missing cells are NaN)."""
    with open(path, newline="") as f:
        return [{k: (float(v) if v != "" else math.nan) for k, v in r.items()} for r in csv.DictReader(f)]
