"""Environment plumbing: picklable env factories (for worker processes and Ray) and the vectorised
env PPO steps (``gymnasium.vector.SyncVectorEnv`` with same-step autoreset)."""
from __future__ import annotations

import gymnasium as gym

from ...errors import ConfigError


class EnvFactory:
    """Picklable ``() -> gymnasium.Env``: a registered id (or EnvSpec) plus keyword arguments."""

    def __init__(self, env_id, env_kwargs: dict | None = None):
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})

    def __call__(self) -> gym.Env:
        return gym.make(self.env_id, **self.env_kwargs)

    @property
    def name(self) -> str:
        return self.env_id if isinstance(self.env_id, str) else self.env_id.id

    def __repr__(self) -> str:
        return f"EnvFactory({self.name!r}, {self.env_kwargs!r})"


def resolve_env(env, env_kwargs: dict | None = None) -> tuple[EnvFactory | None, gym.Env | gym.vector.VectorEnv]:
    """`env` (an id, a gymnasium Env or VectorEnv) -> (factory or None, an instance to read spaces from).

    The factory is None when the instance cannot be rebuilt elsewhere (an Env without a registered
    spec); such an env works in-process only."""
    if isinstance(env, str):
        factory = EnvFactory(env, env_kwargs)
        try:
            return factory, factory()
        except gym.error.Error as e:
            raise ConfigError(f"env {env!r} cannot be made: {e}. HINT: `import ssmn_rl` registers the "
                              "ssmn/ ids; see gymnasium.pprint_registry().") from e
    if env_kwargs:
        raise ConfigError("env_kwargs is only used when env is an id string")
    if isinstance(env, gym.vector.VectorEnv):
        return None, env
    if isinstance(env, gym.Env):
        spec = getattr(env, "spec", None)
        return (EnvFactory(spec) if spec is not None and spec.entry_point is not None else None), env
    raise ConfigError(f"env must be a registered id (str), a gymnasium.Env or a gymnasium.vector.VectorEnv, "
                      f"got {type(env).__name__}")


def single_spaces(env) -> tuple:
    """(observation_space, action_space) of one sub-environment."""
    if isinstance(env, gym.vector.VectorEnv):
        return env.single_observation_space, env.single_action_space
    return env.observation_space, env.action_space


def make_vec_env(env, n_envs: int, factory: EnvFactory | None) -> gym.vector.VectorEnv:
    """A SyncVectorEnv with same-step autoreset (a finished env returns its reset observation and
    puts the final one in ``infos['final_obs']``), or `env` itself if it already is one."""
    if isinstance(env, gym.vector.VectorEnv):
        mode = env.metadata.get("autoreset_mode")
        if mode not in (gym.vector.AutoresetMode.SAME_STEP, "SameStep"):
            raise ConfigError(f"a VectorEnv given to PPO must use autoreset_mode=SAME_STEP, got {mode!r}. "
                              "HINT: gymnasium.vector.SyncVectorEnv(fns, autoreset_mode="
                              "gymnasium.vector.AutoresetMode.SAME_STEP)")
        return env
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise ConfigError(f"n_envs must be an integer >= 1, got {n_envs!r}")
    if factory is None:
        if n_envs != 1:
            raise ConfigError(f"n_envs={n_envs} needs an env that can be rebuilt (a registered id), got an "
                              "unregistered Env instance. HINT: pass the id string or n_envs=1.")
        fns = [lambda: env]
    else:
        fns = [factory] * n_envs
    return gym.vector.SyncVectorEnv(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
