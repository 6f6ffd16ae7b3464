"""Training logger: named scalars (``charts/...``, ``losses/...``, ``time/...``) written to a CSV
file, TensorBoard event files and, optionally, stdout, once per iteration (``dump(step)``).

The CSV is rewritten whole at each dump (runs log hundreds of rows, not millions), so a key that
first appears late still gets its own column and earlier rows read it as empty.
"""
from __future__ import annotations

import csv
import io
import math
import pathlib
import sys

from ...serialization import atomic_write


class Logger:
    """Collect scalars with ``record`` and write them with ``dump(step)``.

    Parameters
    ----------
    folder : path or None
        Where ``progress.csv`` and the event files go; None keeps the rows in memory only.
    formats : iterable of {"csv", "tensorboard", "stdout"}
    """

    def __init__(self, folder=None, formats=("csv", "tensorboard")):
        self.folder = None if folder is None else pathlib.Path(folder)
        self.formats = tuple(formats)
        self.values: dict = {}
        self.rows: list[dict] = []
        self.keys: list[str] = []
        self._tb = None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            if "tensorboard" in self.formats:
                from tensorboardX import SummaryWriter

                self._tb = SummaryWriter(logdir=str(self.folder))

    def record(self, key: str, value) -> None:
        self.values[key] = float(value)

    def dump(self, step: int) -> dict:
        row = {"global_step": int(step), **self.values}
        self.values = {}
        self.rows.append(row)
        for k in row:
            if k not in self.keys:
                self.keys.append(k)
        if self.folder is not None and "csv" in self.formats:
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=self.keys, restval="")
            w.writeheader()
            w.writerows(self.rows)
            atomic_write(self.folder / "progress.csv", lambda f: f.write(buf.getvalue().encode()))
        if self._tb is not None:
            for k, v in row.items():
                if k != "global_step" and math.isfinite(v):
                    self._tb.add_scalar(k, v, global_step=int(step))
            self._tb.flush()
        if "stdout" in self.formats:
            width = max(len(k) for k in row)
            lines = [f"| {k:<{width}} | {v:>12.5g} |" for k, v in row.items()]
            sys.stdout.write("-" * (width + 19) + "\n" + "\n".join(lines) + "\n")
            sys.stdout.flush()
        return row

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()

