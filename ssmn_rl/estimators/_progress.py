"""Progress display for fits with ``verbose > 0``: a tqdm bar with the loss when tqdm is
installed, otherwise one line per epoch on stderr. Silent when ``verbose`` is 0."""
from __future__ import annotations

import sys


class Progress:
    """Report epochs of a fit. ``update(loss, val_loss)`` once per epoch; ``close()`` at the end."""

    def __init__(self, verbose: int, total: int, desc: str):
        self.verbose, self.total, self.desc, self.epoch = int(verbose), total, desc, 0
        self._bar = None
        if self.verbose > 0:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc=desc, unit="epoch", file=sys.stderr, leave=True)

    def update(self, loss: float, val_loss: float | None = None) -> None:
        self.epoch += 1
        if self.verbose <= 0:
            return
        info = {"loss": f"{loss:.5g}"}
        if val_loss is not None:
            info["val_loss"] = f"{val_loss:.5g}"
        if self._bar is not None:
            self._bar.set_postfix(info, refresh=False)
            self._bar.update(1)
        else:
            extra = "".join(f", {k} {v}" for k, v in info.items())
            print(f"{self.desc}: epoch {self.epoch}/{self.total}{extra}", file=sys.stderr, flush=True)

    def message(self, text: str) -> None:
        if self.verbose > 0:
            (self._bar.write if self._bar is not None else
             (lambda s: print(s, file=sys.stderr, flush=True)))(f"{self.desc}: {text}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
