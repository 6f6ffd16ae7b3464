"""Default hyperparameters per (env id, algorithm) used by ``ssmn-rl train``, like rl-zoo's tables.
Anything not listed falls back to the algorithm's constructor defaults and ``GENERIC_TIMESTEPS``."""
from __future__ import annotations

GENERIC_TIMESTEPS = {"es": 300_000, "ppo": 200_000}

TABLE = {
    ("ssmn/StatelessCartPole-v0", "es"): {"total_timesteps": 400_000, "population_size": 64},
    ("ssmn/NoisyStatelessCartPole-v0", "es"): {"total_timesteps": 400_000, "episodes_per_member": 2},
    ("CartPole-v1", "es"): {"total_timesteps": 100_000},
    ("ssmn/StatelessCartPole-v0", "ppo"): {"total_timesteps": 200_000},
    ("CartPole-v1", "ppo"): {"total_timesteps": 60_000},
}


def defaults_for(env_id: str, algo: str) -> dict:
    """A fresh dict of constructor keyword arguments plus ``total_timesteps``."""
    return {"total_timesteps": GENERIC_TIMESTEPS[algo], **TABLE.get((env_id, algo), {})}
