"""Writes tests/data/prototype_reference.npz: outputs of the prototype's cell for fixed
parameters and inputs, so `preset="prototype"` can be proven to compute exactly that cell.

Run once, with the code whose default cell *was* the prototype's (commit 310e9f0, before the
default cell changed); the stored file is then the reference, never regenerated casually:
    python scripts/make_prototype_reference.py
Each case stores its config (JSON), the parameter vector, the input and the float64 outputs.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np

from ssmn_rl import SSMN

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "prototype_reference.npz"

CASES = {
    "standard": dict(variant="standard", input_dim=3, output_dim=2, hidden_dim=16, window_size=4),
    "custom_split_delta": dict(variant="custom_split", input_dim=2, output_dim=3, hidden_dim=12,
                               window_size=3, plastic_ratio=0.5, n_layers=4, rule="delta"),
    "text_native": dict(variant="text_native", vocab_size=11, embed_dim=8, hidden_dim=16, window_size=5),
}


def main() -> None:
    rng = np.random.default_rng(2026)
    arrays = {}
    for name, kwargs in CASES.items():
        m = SSMN(**kwargs, dtype="float64", seed=7)
        T = 13
        if m.config.vocab_size:
            X = rng.integers(0, m.config.vocab_size, size=(2, T)).astype(np.int32)
        else:
            X = rng.standard_normal((2, T, m.config.input_dim))
        theta = m.get_parameters() + 0.05 * rng.standard_normal(m.n_parameters)
        m.set_parameters(theta)
        Y = m.forward(X)
        arrays[f"{name}.config"] = np.frombuffer(json.dumps(kwargs).encode(), np.uint8)
        arrays[f"{name}.theta"], arrays[f"{name}.X"], arrays[f"{name}.Y"] = theta, X, Y
    np.savez(OUT, **arrays)
    print(f"wrote {OUT} ({len(CASES)} cases)")


if __name__ == "__main__":
    main()
