"""The cell options as command-line flags, shared by the benchmark scripts that build an SSMN:
``add_cell_arguments(parser)`` declares them, ``cell_kwargs(args)`` turns them into SSMN keyword
arguments (None: from the preset). Not a benchmark; imported by its siblings."""
from __future__ import annotations

import argparse


def add_cell_arguments(group) -> None:
    """--preset, --position-bias, --residual, --neuromodulation, --learned-decay, --norm, --heads."""
    group.add_argument("--preset", choices=["default", "prototype"], default=None,
                       help="cell preset the options below start from (default: the default cell)")
    for flag, what in (("position-bias", "learned attention bias per window offset"),
                       ("residual", "skip connection around the attention block"),
                       ("neuromodulation", "per-step write strength of the plastic layers"),
                       ("learned-decay", "per-step decay of the plastic layers")):
        group.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction, default=None,
                           help=f"{what} (default: from the preset)")
    group.add_argument("--norm", choices=["none", "rms", "layer"], default=None,
                       help="pre-norm of the layers (default: from the preset)")
    group.add_argument("--heads", type=int, default=1, help="attention heads / fast-weight blocks")


def cell_kwargs(args, gates: bool = True) -> dict:
    """SSMN keyword arguments of the flags; ``gates=False`` (a model without plastic layers) leaves
    the gates to the preset, which keeps them off there."""
    return {"preset": args.preset, "position_bias": args.position_bias, "residual": args.residual,
            "neuromodulation": args.neuromodulation if gates else None,
            "learned_decay": args.learned_decay if gates else None,
            "norm": args.norm, "n_heads": args.heads}
