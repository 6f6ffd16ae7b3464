"""PPO env runners: workers that step their share of the vector envs with a copy of the policy and
send back trajectories; the learning stays in the driver (RLlib's env runners, on our backends).

:class:`EnvRunnerGroup` (driver side) splits ``n_envs`` envs into contiguous slices, one per
worker of a :mod:`~ssmn_rl.agents.common.backends` backend (inline, process or Ray), and merges
what the workers return into arrays over all envs in env order. :class:`PPOEnvRunner` (worker
side) keeps its envs, their episodes in progress and the policy's recurrent state across
rollouts; per rollout only the parameters, the observation statistics and two integers travel.

The same seed gives the same trajectories however the envs are split, so PPO learns the same
curve on every backend and worker count:

- env i of the run resets with seed ``reset_seed + i`` (as one ``SyncVectorEnv`` of all envs);
- env i samples its actions from its own generator, ``default_rng([seed, ACTION_STREAM,
  rollout_key, i])``, drawing the same numbers whichever worker steps it;
- the policy steps every env as its own row of a :class:`~ssmn_rl.population.Population` (one
  kernel call per step for the worker's envs), which gives each row exactly what a one-stream
  ``forward_step`` gives, independent of how many rows share the call;
- observations are normalised with the statistics sent at the start of the rollout; the driver
  merges the returned raw observations into its running statistics afterwards, step by step in
  env order (:meth:`EnvRunnerGroup.rollout` leaves that, the rewards and the buffer to the agent).
"""
from __future__ import annotations

import os

import numpy as np

from ...errors import ConfigError
from ...population import Population
from .backends import make_backend
from .envs import make_vec_env
from .policy import SSMNPolicy

#: Second word of every action-sampling seed (keeps these streams apart from the agent's others).
ACTION_STREAM = 0x5050_4F41


class RowGenerators:
    """A ``numpy.random.Generator`` look-alike whose draws of shape (B, ...) take row b from
    generator b, so that every env draws its own numbers whatever batch it is stepped in.

    Provides the three draws the action distributions use: ``gumbel``, ``random`` and
    ``standard_normal``."""

    def __init__(self, generators: list):
        self.generators = list(generators)

    def _draw(self, method: str, size) -> np.ndarray:
        size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        if not size or size[0] != len(self.generators):
            raise ConfigError(f"RowGenerators holds {len(self.generators)} generators (one per row) but a "
                              f"draw of shape {size} was asked for; the first axis must be the rows")
        return np.stack([getattr(g, method)(size=size[1:]) for g in self.generators])

    def gumbel(self, size):
        return self._draw("gumbel", size)

    def random(self, size):
        return self._draw("random", size)

    def standard_normal(self, size):
        return self._draw("standard_normal", size)


def action_generators(seed: int, rollout_key: int, env_ids) -> RowGenerators:
    """The action-sampling generators of envs `env_ids` (global indices) in one rollout."""
    return RowGenerators([np.random.default_rng([int(seed), ACTION_STREAM, int(rollout_key), int(i)])
                          for i in env_ids])


class PPOEnvRunner:
    """Worker side: one slice of the run's envs and a policy copy that acts on them.

    Built once per worker from `setup` (``policy_cfg``: :meth:`SSMNPolicy.config`; ``env_factory``:
    a picklable env factory, or None with ``env_obj``, an env instance usable in-process only;
    ``seed``: the agent's seed). :meth:`reset` gives it its slice; :meth:`rollout` plays one."""

    def __init__(self, setup: dict):
        self.policy = SSMNPolicy.from_config(setup["policy_cfg"])
        self.env_factory, self.env_obj = setup["env_factory"], setup.get("env_obj")
        self.seed = int(setup["seed"])
        self.venv = None
        self.pop = None
        self.cpop = None  # the separate critic's streams (policy_kwargs critic="separate")
        self.offset = self.n = 0
        self.obs = self.starts = None

    def pid(self, _=None) -> int:
        return os.getpid()

    def reset(self, payload: dict) -> np.ndarray:
        """Take envs ``offset .. offset + n_envs - 1`` of the run and start them all with fresh
        episodes (env ``offset + j`` resets with seed ``seed + offset + j``); returns their encoded
        first observations (n_envs, D_in)."""
        offset, n = int(payload["offset"]), int(payload["n_envs"])
        if self.venv is None or self.venv.num_envs != n:
            if self.venv is not None and self.venv is not self.env_obj:
                self.venv.close()
            if self.env_factory is None and self.env_obj is None:
                raise ConfigError("a PPO env runner needs env_factory or env_obj in its setup")
            self.venv = make_vec_env(self.env_obj, n, self.env_factory)
            if self.venv.num_envs != n:
                raise ConfigError(f"the env given to this runner holds {self.venv.num_envs} envs, not n_envs={n}")
        self.offset, self.n = offset, n
        self.obs, _ = self.venv.reset(seed=int(payload["seed"]) + offset)
        self.starts = np.ones(n, bool)
        model = self.policy.model
        self.pop = Population(model, np.broadcast_to(model.get_parameters(), (n, model.n_parameters)))
        critic = self.policy.critic
        self.cpop = None if critic is None else \
            Population(critic, np.broadcast_to(critic.get_parameters(), (n, critic.n_parameters)))
        return self.policy.encode(self.obs, batched=True)

    def rollout(self, payload: dict) -> dict:
        """Play ``n_steps`` steps on every env with parameters ``theta``, observation statistics
        ``obs_rms`` (a state dict, or None) and action streams keyed by ``rollout_key``.

        Returns (T = n_steps, n = this runner's envs): ``raw_obs`` (T, n, D_in) float32 encoded
        observations before normalisation; ``actions`` (T, n, ...); ``values``, ``log_probs``
        (T, n) float64; ``rewards`` (T, n) float64 as the envs gave them; ``dones``,
        ``episode_starts`` (T, n) bool; ``final_values`` (T, n) float64, V(final observation) of
        a truncated (not terminated) episode, else 0; ``seq_states`` {(env, t): SSMNState}, the
        pre-step state where each sequence begins (``critic_states`` the same for a separate critic,
        else empty); ``last_values`` (n,) float64 and
        ``last_starts`` (n,) bool to bootstrap the tail; ``last_obs`` (n, D_in) the encoded observations
        the next rollout starts from."""
        if self.pop is None:
            raise ConfigError("PPOEnvRunner.rollout before reset(): the runner has no envs yet")
        pol, model, dist = self.policy, self.policy.model, self.policy.dist
        pol.set_parameters(payload["theta"])
        self.pop.params_for_update()[...] = model.get_parameters()
        cpop = self.cpop
        if cpop is not None:
            cpop.params_for_update()[...] = pol.critic.get_parameters()
        vmodel, vcol = pol.value_model()
        vpop = cpop if cpop is not None else self.pop  # the streams whose output `vcol` is the value
        if pol.obs_rms is not None and payload["obs_rms"] is not None:
            pol.obs_rms.load_state_dict(payload["obs_rms"])
        T, n, pop = int(payload["n_steps"]), self.n, self.pop
        rngs = action_generators(self.seed, payload["rollout_key"], range(self.offset, self.offset + n))
        act_dtype = np.float32 if dist.continuous else np.int64
        out = {"raw_obs": np.zeros((T, n, pol.encoder.dim), np.float32),
               "actions": np.zeros((T, n) + tuple(dist.action_shape), act_dtype),
               "values": np.zeros((T, n)), "log_probs": np.zeros((T, n)), "rewards": np.zeros((T, n)),
               "final_values": np.zeros((T, n)), "dones": np.zeros((T, n), bool),
               "episode_starts": np.zeros((T, n), bool)}
        seq_states, critic_states = {}, {}
        for t in range(T):
            starts = self.starts
            if starts.any():
                pop.reset(np.flatnonzero(starts))
                if cpop is not None:
                    cpop.reset(np.flatnonzero(starts))
            if t == 0 or starts.any():
                s = pop.state
                sc = None if cpop is None else cpop.state
                for i in (range(n) if t == 0 else np.flatnonzero(starts)):
                    seq_states[(int(i), t)] = s[int(i)]
                    if sc is not None:
                        critic_states[(int(i), t)] = sc[int(i)]
            raw = pol.encode(self.obs, batched=True)
            x = pol.normalize(raw)
            y = pop.step(x)
            logits, values = pol.split(y)
            if cpop is not None:
                values = cpop.step(x)[:, 0]
            a = dist.sample(logits, pol.extra, rngs)
            logp = dist.log_prob_entropy(logits, pol.extra, a)[0]
            obs, rew, term, trunc, info = self.venv.step(dist.to_env(a))
            dones = np.logical_or(term, trunc)
            cut = np.flatnonzero(np.logical_and(trunc, np.logical_not(term)))
            if cut.size:
                s = vpop.state
                for i in cut:
                    final = pol.normalize(pol.encode(info["final_obs"][i], batched=False))
                    out["final_values"][t, i] = float(vmodel.forward(final[None], state=s[int(i)])[0, 0, vcol])
            out["raw_obs"][t], out["actions"][t] = raw, a.reshape(out["actions"][t].shape)
            out["values"][t], out["log_probs"][t] = values, logp
            out["rewards"][t], out["dones"][t], out["episode_starts"][t] = np.asarray(rew, np.float64), dones, starts
            self.obs, self.starts = obs, dones
        # bootstrap value of the observation after the rollout, from the state a step would start from
        st = vpop.state
        if self.starts.any():
            fresh = vmodel.initial_state(n)
            st.data[self.starts] = fresh.data[self.starts]
            st.steps[self.starts] = 0
        last = pol.encode(self.obs, batched=True)
        x = pol.normalize(last)
        out["last_values"] = np.array([vmodel.forward(x[i:i + 1, None, :], state=st[i])[0, 0, vcol]
                                       for i in range(n)], np.float64)
        out["last_starts"] = self.starts.copy()
        out["last_obs"] = last
        out["seq_states"], out["critic_states"] = seq_states, critic_states
        return out

    def close(self, _=None) -> None:
        if self.venv is not None and self.venv is not self.env_obj:
            self.venv.close()
        self.venv = None


class EnvRunnerGroup:
    """Driver side: ``n_workers`` :class:`PPOEnvRunner` workers on `backend`, envs split into
    contiguous slices (worker k steps envs ``bounds[k] .. bounds[k+1] - 1``).

    Parameters
    ----------
    backend : {"inline", "process", "ray"}
    n_workers : int or None
        Runners (None: the backend's default, at most `n_envs`).
    ray_address : str or None
    policy : SSMNPolicy
        The agent's policy (its configuration is copied to every runner).
    env_factory : EnvFactory or None
        How runners build their envs; None only with ``backend="inline"`` and one runner, which
        then steps `env_obj` itself.
    env_obj : gymnasium Env or VectorEnv, optional
    n_envs : int
    seed : int
        The agent's seed (action streams).
    """

    def __init__(self, backend: str, n_workers, ray_address, policy: SSMNPolicy, env_factory, env_obj,
                 n_envs: int, seed: int):
        if n_workers is None:
            n_workers = 1 if backend == "inline" else min(max(1, os.cpu_count() or 1), n_envs)
        check_runner_split(n_workers, n_envs, backend, env_factory is not None)
        self.n_envs = int(n_envs)
        self.bounds = np.linspace(0, n_envs, n_workers + 1).astype(int)
        self.backend = make_backend(backend, n_workers, ray_address)
        setup = {"policy_cfg": policy.config(), "env_factory": env_factory,
                 "env_obj": env_obj if env_factory is None else None, "seed": int(seed)}
        try:
            self.backend.start(PPOEnvRunner, setup)
        except BaseException:
            self.backend.close()
            raise

    @property
    def started(self) -> bool:
        return self.backend.started

    @property
    def n_workers(self) -> int:
        return self.backend.n_workers

    def worker_pids(self) -> list:
        return self.backend.worker_pids()

    def reset(self, seed: int) -> np.ndarray:
        """Start every env with a fresh episode (env i with seed ``seed + i``); returns the encoded
        first observations (n_envs, D_in)."""
        b = self.bounds
        return np.concatenate(self.backend.call("reset", [{"offset": int(b[k]), "n_envs": int(b[k + 1] - b[k]), "seed": int(seed)}
                                                for k in range(self.n_workers)]))

    def rollout(self, theta: np.ndarray, obs_rms: dict | None, n_steps: int, rollout_key: int) -> dict:
        """One rollout of `n_steps` steps on every env; :meth:`PPOEnvRunner.rollout`'s arrays merged
        over all envs (env axis 1 for (T, n) arrays, 0 for ``last_*``), ``seq_states`` keyed by
        global env index."""
        payload = {"theta": theta, "obs_rms": obs_rms, "n_steps": int(n_steps), "rollout_key": int(rollout_key)}
        parts = self.backend.call("rollout", [{}] * self.n_workers, common=payload)  # the same for every runner
        merged = {k: np.concatenate([p[k] for p in parts], axis=0 if k.startswith("last_") else 1)
                  for k in parts[0] if k not in ("seq_states", "critic_states")}
        for name in ("seq_states", "critic_states"):
            merged[name] = {(int(self.bounds[k]) + i, t): s for k, p in enumerate(parts)
                            for (i, t), s in p[name].items()}
        return merged

    def close(self) -> None:
        self.backend.close()


def check_runner_split(n_workers, n_envs: int, backend: str, rebuildable: bool = True) -> None:
    """Refuse a worker count the envs cannot be split over, or an env (`rebuildable` False: an
    instance without a factory) that only this process can step over several workers or another
    backend (raises ConfigError naming the argument)."""
    if isinstance(n_envs, bool) or not isinstance(n_envs, (int, np.integer)) or n_envs < 1:
        raise ConfigError(f"n_envs must be an integer >= 1, got {n_envs!r}")
    if isinstance(n_workers, bool) or not isinstance(n_workers, (int, np.integer)) or n_workers < 1:
        raise ConfigError(f"n_workers must be an integer >= 1, got {n_workers!r}")
    if n_workers > n_envs:
        raise ConfigError(f"n_workers={n_workers} exceeds n_envs={n_envs}: every env runner steps at least one "
                          f"env. HINT: n_workers <= n_envs, or more envs (n_envs={n_workers}).")
    if not rebuildable and (backend != "inline" or n_workers != 1):
        raise ConfigError(f"backend={backend!r} with n_workers={n_workers} needs an env that workers can rebuild "
                          "(a registered id, or an Env made by gymnasium.make); this env instance can only be "
                          "stepped in-process. HINT: pass the env id string, or backend='inline', n_workers=1.")
