"""Default training budgets per (env id, algorithm) used by ``ssmn-rl train``, like rl-zoo's tables,
and the algorithm settings ``ssmn-rl train`` and the suite benchmark use on every env.

Only ``total_timesteps`` may differ per env: the policy and the algorithm's settings are the same
on every task (the agents' class defaults, chosen by the sweep in ``scripts/sweep_defaults.py``;
see README "Agents" and docs/benchmarks.md), because they are checked on tasks nobody tuned them for.
"""
from __future__ import annotations

GENERIC_TIMESTEPS = {"es": 300_000, "ppo": 200_000}

#: Constructor arguments ``ssmn-rl train`` gives each algorithm on every env, over its class
#: defaults. ES: population 64 solved StatelessCartPole on seeds 0-4 (mean >= 475 over 20
#: deterministic episodes) in 136k-315k steps where population 32 left seed 4 at 462 after 300k.
ALGO_DEFAULTS = {"es": {"population_size": 64}, "ppo": {}}

#: Env steps per (env id, algorithm); nothing else may be listed here.
TABLE = {
    ("ssmn/StatelessCartPole-v0", "es"): {"total_timesteps": 400_000},
    ("ssmn/NoisyStatelessCartPole-v0", "es"): {"total_timesteps": 400_000},
    ("CartPole-v1", "es"): {"total_timesteps": 100_000},
    ("ssmn/StatelessCartPole-v0", "ppo"): {"total_timesteps": 300_000},
    ("ssmn/StatelessPendulum-v0", "ppo"): {"total_timesteps": 300_000},
    ("CartPole-v1", "ppo"): {"total_timesteps": 100_000},
    ("ssmn/CueReward-v0", "ppo"): {"total_timesteps": 60_000},
}


def defaults_for(env_id: str, algo: str) -> dict:
    """A fresh dict of constructor keyword arguments plus ``total_timesteps``."""
    if algo not in GENERIC_TIMESTEPS:
        raise ValueError(f"algo must be one of {sorted(GENERIC_TIMESTEPS)}, got {algo!r}")
    return {"total_timesteps": GENERIC_TIMESTEPS[algo], **ALGO_DEFAULTS[algo], **TABLE.get((env_id, algo), {})}
