"""Evolution strategies (Salimans et al. 2017, "OpenAI ES") over an SSMN policy's flat parameters.

Each generation draws ``population_size / 2`` Gaussian directions, scores the policy at
``theta + sigma*eps`` and ``theta - sigma*eps`` (antithetic pairs, the same env seed for both),
turns the returns into centered ranks, and takes an Adam step on the mean along
``sum_i (rank+_i - rank-_i) eps_i`` minus L2 weight decay. Observations are standardised with
running statistics gathered from every rollout. Policies act deterministically (argmax / mean).

Every random number of generation g comes from ``SeedSequence([seed, g, ...])``. The directions
are slices of a shared noise table (Salimans et al.): every worker builds the same table once from
the agent's seed, and a direction travels as one integer, its offset. So the learning curve is the
same on every backend, a checkpoint resumes exactly, and no generation spends time drawing noise.

Rollouts are population-batched by default: a worker steps the members it scores together, one
kernel call per env step (:class:`ssmn_rl.population.Population`), at most MAX_ACTIVE_STREAMS
episodes at a time, each on its own env copy; ``population_batching=False`` plays member by member
(the reference path; same returns).
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np

from ..errors import ConfigError
from ..optim import Adam, l2_norm
from .common.arguments import (AGENT_OPTIONS, ES_OPTIONS, RUNNER_OPTIONS, check_arguments, check_ray_address,
                               document)
from .common.backends import make_backend
from .common.base import BaseAgent
from .common.policy import SSMNPolicy
from ..population import Population

#: Floats in the shared noise table: at least this many, and at least NOISE_TABLE_FACTOR times the
#: parameter count, so that directions (slices at random offsets) overlap little.
NOISE_TABLE_MIN = 1 << 21
NOISE_TABLE_FACTOR = 8
_NOISE_TABLES: dict = {}


def noise_table(seed: int, n_params: int) -> np.ndarray:
    """The shared standard-normal table of an ES run (float64, built once per process and seed)."""
    key = (int(seed), int(n_params))
    table = _NOISE_TABLES.get(key)
    if table is None:
        size = max(NOISE_TABLE_MIN, NOISE_TABLE_FACTOR * int(n_params))
        table = np.random.default_rng(np.random.SeedSequence([int(seed), 0x4E4F495345])).standard_normal(size)
        table.flags.writeable = False
        _NOISE_TABLES.clear()  # one run's table at a time: they are large
        _NOISE_TABLES[key] = table
    return table


def noise_slice(table: np.ndarray, noise_seed: int, n_params: int) -> np.ndarray:
    """The direction of `noise_seed`: n_params consecutive floats of the table (a read-only view)."""
    offset = int(noise_seed) % (table.size - n_params + 1)
    return table[offset:offset + n_params]


def _episode(policy, env, theta, mean, std, clip, env_seed, max_steps):
    """One deterministic episode with parameters theta -> (return, length, obs sum, obs sum of squares).

    The per-member reference path: one env step and one kernel call at a time."""
    policy.set_parameters(theta)
    model = policy.model
    model.reset(batch_size=1)
    obs, _ = env.reset(seed=int(env_seed))
    total, steps = 0.0, 0
    s1 = np.zeros(mean.size)
    s2 = np.zeros(mean.size)
    dist = policy.dist
    while True:
        x = policy.encode(obs, batched=False)
        s1 += x[0]
        s2 += x[0].astype(np.float64) ** 2
        xn = np.clip((x - mean) / std, -clip, clip).astype(np.float32)
        out = model.forward_step(xn)
        a = dist.to_env(dist.mode(out, policy.extra))[0]
        obs, r, term, trunc, _ = env.step(a)
        total += float(r)
        steps += 1
        if term or trunc or (max_steps is not None and steps >= max_steps):
            return total, steps, s1, s2


#: Wrappers that gymnasium.make adds and that change nothing a rollout sees once the env is reset:
#: a batched rollout steps the env beneath them (TimeLimit's truncation is applied by the rollout).
_TRANSPARENT_WRAPPERS = (gym.wrappers.TimeLimit, gym.wrappers.OrderEnforcing, gym.wrappers.PassiveEnvChecker)


def _stepper(env):
    """(the env whose ``step`` a rollout may call, TimeLimit's max_episode_steps or None)."""
    limit, e = None, env
    while isinstance(e, gym.Wrapper):
        if not isinstance(e, _TRANSPARENT_WRAPPERS):
            return env, None
        if isinstance(e, gym.wrappers.TimeLimit):
            limit = e._max_episode_steps if limit is None else min(limit, e._max_episode_steps)
        e = e.env
    return e, limit


#: Streams a batched rollout steps at once. A finished episode hands its env and its place in the
#: batch to the next waiting stream, so the batch stays this full until the last episodes. Each
#: step reads every active row's parameters (about 100 KB at hidden 64), so a batch of the whole
#: population (129 rows) no longer fits in the caches: 32 rows measured 8-10 us/row per kernel call
#: against 20-22 us/row for 129 (scripts/bench_scaling.py's ES policy, one thread, a shared machine).
MAX_ACTIVE_STREAMS = 32


def _population_episodes(policy, envs, population, env_seeds, mean, std, clip, max_steps, fill_row=None):
    """One episode per stream, the active streams stepped together: one kernel call per env step.

    population: S parameter rows (stream s plays with row s), env_seeds (S,), envs: >= min(S,
    MAX_ACTIVE_STREAMS) envs (reset with each stream's seed before it plays); fill_row(s), if
    given, writes row s's parameters just before stream s starts (so they are in cache when it
    plays). Returns per stream: returns (S,), lengths (S,), obs sums and sums of squares (S, D);
    each stream's numbers are exactly those of :func:`_episode` with the same parameters and seed."""
    S, D = len(env_seeds), mean.size
    G = min(S, MAX_ACTIVE_STREAMS)
    population.reset()
    dist, extra = policy.dist, policy.extra
    steppers = []  # per env: (env to step, stop once a stream's length is >= this)
    for env in envs[:G]:
        inner, limit = _stepper(env)
        caps = [c for c in (limit, max_steps) if c is not None]
        steppers.append((inner, min(caps) if caps else float("inf")))
    if fill_row is not None:
        for j in range(G):
            fill_row(j)
    first = [envs[j].reset(seed=int(env_seeds[j]))[0] for j in range(G)]
    obs = np.stack([np.asarray(o) for o in first])  # (G, *obs shape): row j is active stream act[j]
    act = list(range(G))       # stream played at each position of the batch
    slot = list(range(G))      # env (index into envs/steppers) of each position
    waiting = G                # next stream to start
    returns, lengths = [0.0] * S, [0] * S
    s1, s2 = np.zeros((S, D)), np.zeros((S, D))
    rows = np.arange(G, dtype=np.int64)
    while act:
        n = len(act)
        x = policy.encode(obs[:n], batched=True)
        s1[rows] += x
        s2[rows] += x.astype(np.float64) ** 2
        xn = np.clip((x - mean) / std, -clip, clip).astype(np.float32)
        actions = dist.to_env(dist.mode(population.step(xn, rows), extra))
        keep = 0
        for j in range(n):
            i, e = act[j], slot[j]
            env, cap = steppers[e]
            o, r, term, trunc, _ = env.step(actions[j])
            returns[i] += float(r)
            steps = lengths[i] = lengths[i] + 1
            if term or trunc or steps >= cap:
                if waiting == S:
                    continue
                i = waiting  # the next stream takes over this env and place
                waiting += 1
                if fill_row is not None:
                    fill_row(i)
                o = envs[e].reset(seed=int(env_seeds[i]))[0]
            obs[keep] = o  # compact in place: keep <= j, so row j is read before it is overwritten
            act[keep], slot[keep] = i, e
            keep += 1
        del act[keep:], slot[keep:]
        rows = np.array(act, dtype=np.int64)
    return np.array(returns), np.array(lengths, np.int64), s1, s2


class ESWorker:
    """A rollout worker that lives across generations: its policy, envs and population are built
    once; each generation only the parameters, seeds and observation statistics arrive.

    setup: policy_cfg, env_factory, env_obj (in-process only, None otherwise), seed (of the noise
    table), obs_clip, max_steps, sigma, batched (population-batched rollouts, else member by member),
    threads (OpenMP threads of the population kernel).
    """

    def __init__(self, setup: dict):
        self.setup = setup
        self.policy = SSMNPolicy.from_config({**setup["policy_cfg"], "normalize_obs": False})
        env_obj, factory = setup.get("env_obj"), setup["env_factory"]
        self.envs = [env_obj if env_obj is not None else factory()]
        # an Env instance that cannot be rebuilt has no copies to batch over: member by member
        self.batched = bool(setup["batched"]) and (env_obj is None or factory is not None)
        self.population = None
        self.noise = noise_table(setup["seed"], self.policy.n_parameters)

    def _env_list(self, n: int) -> list:
        while len(self.envs) < n:
            self.envs.append(self.setup["env_factory"]())
        return self.envs

    def rollouts(self, gen: dict) -> list:
        """Evaluate a chunk of antithetic pairs (and/or the unperturbed mean).

        gen: theta (n,), obs_mean, obs_std, items: list of (kind, noise_seed, env_seeds) with kind
        "pair" or "center". Returns one dict per item: returns (2,) or (1,), lengths, obs_sum,
        obs_sumsq."""
        theta, mean, std, sigma = gen["theta"], gen["obs_mean"], gen["obs_std"], self.setup["sigma"]
        clip, max_steps = self.setup["obs_clip"], self.setup["max_steps"]
        # (item index, sign, direction, env seeds), in item then +/- order: candidate theta + sign *
        # sigma * direction (theta itself for the center, sign 0)
        cands = []
        for k, (kind, noise_seed, env_seeds) in enumerate(gen["items"]):
            if kind == "center":
                cands.append((k, 0, None, env_seeds))
            else:
                eps = noise_slice(self.noise, noise_seed, theta.size)
                cands += [(k, 1, eps, env_seeds), (k, -1, eps, env_seeds)]
        # one episode per (candidate, env seed): its return, length and observation moments
        if self.batched:
            episodes = self._batched(theta, sigma, cands, mean, std, clip, max_steps)
        else:
            episodes = []
            for _, sign, eps, seeds in cands:
                cand = theta if sign == 0 else theta + sigma * eps if sign > 0 else theta - sigma * eps
                episodes.append([_episode(self.policy, self.envs[0], cand, mean, std, clip, es, max_steps)
                                 for es in seeds])
        out = [{"returns": [], "lengths": [], "obs_sum": np.zeros(mean.size), "obs_sumsq": np.zeros(mean.size)}
               for _ in gen["items"]]
        for (k, _, _, seeds), eps_results in zip(cands, episodes):
            r_tot, n_tot = 0.0, 0
            for r, n, a, b in eps_results:
                r_tot += r
                n_tot += n
                out[k]["obs_sum"] += a
                out[k]["obs_sumsq"] += b
            out[k]["returns"].append(r_tot / len(seeds))
            out[k]["lengths"].append(n_tot)
        for o in out:
            o["returns"], o["lengths"] = np.array(o["returns"]), np.array(o["lengths"])
        return out

    def _batched(self, theta, sigma, cands, mean, std, clip, max_steps) -> list:
        policy = self.policy
        n_model = policy.model.n_parameters
        seeds = [es for *_, ss in cands for es in ss]
        S = len(seeds)
        if self.population is None or self.population.n_rows != S:
            self.population = Population(policy.model, np.zeros((S, n_model), policy.model.dtype),
                                         n_threads=self.setup["threads"], copy=False)
            self._step_buf = np.empty(n_model)
        # row s gets exactly SSMNPolicy.set_parameters(candidate)'s values: theta +/- sigma * eps in
        # float64 cast to the model's dtype, written into the row (no temporary per candidate) when
        # its stream starts
        rows, step, th = self.population.params_for_update(), self._step_buf, theta[:n_model]
        row_cand = [(sign, eps) for _, sign, eps, ss in cands for _ in ss]
        last_eps = [None]

        def fill_row(s):
            sign, eps = row_cand[s]
            if sign == 0:
                rows[s] = th
                return
            if eps is not last_eps[0]:  # sigma * eps once per direction
                np.multiply(sigma, eps[:n_model], out=step)
                last_eps[0] = eps
            (np.add if sign > 0 else np.subtract)(th, step, out=rows[s], casting="same_kind")

        ret, lens, s1, s2 = _population_episodes(policy, self._env_list(min(S, MAX_ACTIVE_STREAMS)),
                                                 self.population, seeds, mean, std, clip, max_steps, fill_row)
        episodes, s = [], 0
        for *_, ss in cands:
            episodes.append([(float(ret[s + j]), int(lens[s + j]), s1[s + j], s2[s + j]) for j in range(len(ss))])
            s += len(ss)
        return episodes


def centered_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks of x scaled to [-0.5, 0.5] (ties broken by position, deterministic)."""
    flat = x.reshape(-1)
    ranks = np.empty(flat.size)
    ranks[np.argsort(flat, kind="stable")] = np.arange(flat.size)
    return (ranks / max(flat.size - 1, 1) - 0.5).reshape(x.shape)


class ES(BaseAgent):
    """OpenAI-style evolution strategies on an SSMN policy (Stable-Baselines3-like API).

    Parameters
    ----------
    env : str or gymnasium.Env
        The environment: a registered id (needed by the "process" and "ray" backends, which rebuild
        it in their workers) or an instance.
    {parameters}
    """

    algo_name = "es"
    value_head = False

    def __init__(self, policy: str = "standard", env=None, *, population_size: int = 32, sigma: float = 0.1,
                 learning_rate: float = 0.03, weight_decay: float = 0.005, episodes_per_member: int = 1,
                 eval_center: bool = True, backend: str = "inline", n_workers: int | None = None,
                 ray_address: str | None = None, max_episode_steps: int | None = None,
                 population_batching: bool = True, threads_per_worker: int = 1,
                 policy_kwargs: dict | None = None, env_kwargs: dict | None = None, normalize_obs: bool = True,
                 log_std_init: float = 0.0, obs_clip: float = 5.0, seed: int = 0, tensorboard_log=None, verbose: int = 0, _spaces=None):
        check_arguments(type(self).__name__, ES_OPTIONS + RUNNER_OPTIONS, locals())
        if population_size % 2:
            raise ConfigError(f"{type(self).__name__}: population_size must be even (antithetic pairs), got "
                              f"{population_size!r}")
        check_ray_address(backend, ray_address)
        super().__init__(policy, env, policy_kwargs=policy_kwargs, env_kwargs=env_kwargs,
                         normalize_obs=normalize_obs, log_std_init=log_std_init, seed=seed, tensorboard_log=tensorboard_log,
                         verbose=verbose, _spaces=_spaces)
        if backend != "inline" and env is not None and self.env_factory is None:
            raise ConfigError(f"backend={backend!r} needs an env that workers can rebuild (a registered id "
                              "or an Env made by gymnasium.make), got an unregistered Env instance")
        self.population_size, self.sigma, self.learning_rate = population_size, float(sigma), float(learning_rate)
        self.weight_decay, self.episodes_per_member = float(weight_decay), episodes_per_member
        self.eval_center, self.backend, self.n_workers = bool(eval_center), backend, n_workers
        self.ray_address, self.max_episode_steps, self.obs_clip = ray_address, max_episode_steps, float(obs_clip)
        self.population_batching, self.threads_per_worker = bool(population_batching), threads_per_worker
        self.theta = self.policy.get_parameters()
        self.optimizer = Adam(self.theta.size, lr=self.learning_rate)
        self._seeds_ahead = None  # (key, seeds) of the next generation, made while workers play

    # ------------------------------------------------------------------ one generation
    def _seeds(self, g: int):
        """(noise seeds, env seeds) of generation g; the driver computes them for g + 1 while the
        workers play g."""
        key = (self.seed, g, self.population_size, self.episodes_per_member)
        if self._seeds_ahead is not None and self._seeds_ahead[0] == key:
            return self._seeds_ahead[1]
        n_pairs = self.population_size // 2
        ss = np.random.SeedSequence([self.seed, g])
        noise_seeds = [int(s.generate_state(1)[0]) for s in ss.spawn(n_pairs)]
        env_rng = np.random.default_rng(ss.generate_state(4))
        env_seeds = env_rng.integers(0, 2**31 - 1, size=(n_pairs + 1, self.episodes_per_member))
        return noise_seeds, env_seeds

    def _generation(self, backend) -> dict:
        g = self._iteration
        n_pairs = self.population_size // 2
        noise_seeds, env_seeds = self._seeds(g)
        items = [("pair", noise_seeds[i], env_seeds[i].tolist()) for i in range(n_pairs)]
        if self.eval_center:
            items.append(("center", 0, env_seeds[n_pairs].tolist()))
        rms = self.policy.obs_rms
        mean = rms.mean if rms is not None else np.zeros(self.policy.encoder.dim)
        std = rms.std if rms is not None else np.ones(self.policy.encoder.dim)
        # only what changes travels: parameters and observation statistics (common to all workers),
        # and each worker's seeds
        n_chunks = min(len(items), backend.n_workers)
        bounds = np.linspace(0, len(items), n_chunks + 1).astype(int)
        backend.submit("rollouts", [{"items": items[bounds[k]:bounds[k + 1]]} for k in range(n_chunks)],
                       common={"theta": self.theta, "obs_mean": mean, "obs_std": std})
        # while the workers play: the noise table (first generation) and the next generation's seeds
        table = noise_table(self.seed, self.theta.size)
        self._seeds_ahead = ((self.seed, g + 1, self.population_size, self.episodes_per_member), self._seeds(g + 1))
        results = [r for chunk in backend.gather() for r in chunk]
        pair_res = results[:n_pairs]
        returns = np.stack([r["returns"] for r in pair_res])          # (n_pairs, 2)
        steps = int(sum(int(r["lengths"].sum()) for r in results))
        # ---- ES gradient on centered ranks
        ranks = centered_ranks(returns)
        w = ranks[:, 0] - ranks[:, 1]
        grad = np.zeros(self.theta.size)
        term = np.empty(self.theta.size)
        for wi, seed_i in zip(w, noise_seeds):  # grad += wi * eps_i, without a temporary per pair
            grad += np.multiply(wi, noise_slice(table, seed_i, self.theta.size), out=term)
        grad /= returns.size
        step_grad = -grad + self.weight_decay * self.theta
        new_theta = self.optimizer.step(self.theta, step_grad)
        update_ratio = float(l2_norm(new_theta - self.theta) / (l2_norm(self.theta) + 1e-12))
        self.theta = new_theta
        self.policy.set_parameters(self.theta)
        # ---- observation statistics, merged in item order (backend-independent)
        if rms is not None:
            for r in results:
                n_obs = int(r["lengths"].sum())
                rms.update_from_moments(r["obs_sum"], r["obs_sumsq"], n_obs)
        self.num_timesteps += steps
        stats = {"charts/episodic_return": float(returns.mean()),
                 "charts/episodic_length": float(np.mean([r["lengths"].mean() for r in pair_res])
                                                 / self.episodes_per_member),
                 "charts/return_max": float(returns.max()), "charts/return_min": float(returns.min()),
                 "losses/grad_norm": float(l2_norm(grad)), "losses/param_norm": float(l2_norm(self.theta)),
                 "losses/update_ratio": update_ratio}
        if self.eval_center:
            stats["charts/center_return"] = float(results[n_pairs]["returns"][0])
        return stats

    # one generation per iteration of BaseAgent.learn, on a backend that lives for the call
    def _learn_start(self, reset_num_timesteps: bool) -> None:
        backend = self._backend = make_backend(self.backend, self.n_workers, self.ray_address)
        try:  # the driver builds its noise table while the workers start
            backend.start(ESWorker, self._worker_setup(backend),
                          meanwhile=lambda: noise_table(self.seed, self.theta.size))
        except BaseException:
            self._learn_end()
            raise

    def _learn_iteration(self) -> dict:
        stats = self._generation(self._backend)
        self.last_episodic_return = stats.get("charts/center_return", stats["charts/episodic_return"])
        stats["charts/generation"] = self._iteration + 1
        return stats

    def _learn_end(self) -> None:
        if self._backend is not None:
            self._backend.close()
        self._backend = None

    def _worker_setup(self, backend) -> dict:
        """What every worker is built from, once per learn() (it does not change between generations)."""
        return {"policy_cfg": self.policy.config(), "env_factory": self.env_factory,
                "env_obj": self.env if backend.name == "inline" and self.env_factory is None else None,
                "seed": self.seed, "sigma": self.sigma, "obs_clip": self.obs_clip, "max_steps": self.max_episode_steps,
                "batched": self.population_batching, "threads": self.threads_per_worker}

    # ------------------------------------------------------------------ files
    def _hyperparameters(self) -> dict:
        return {"population_size": self.population_size, "sigma": self.sigma, "learning_rate": self.learning_rate,
                "weight_decay": self.weight_decay, "episodes_per_member": self.episodes_per_member,
                "eval_center": self.eval_center, "backend": self.backend, "n_workers": self.n_workers,
                "max_episode_steps": self.max_episode_steps, "obs_clip": self.obs_clip,
                "population_batching": self.population_batching, "threads_per_worker": self.threads_per_worker}

    def _training_state(self):
        return {"adam_t": int(self.optimizer.t)}, {"adam_m": self.optimizer.m, "adam_v": self.optimizer.v,
                                                  "theta": self.theta}

    def _set_training_state(self, meta, arrays):
        self.theta = arrays["theta"].copy()
        self.policy.set_parameters(self.theta)
        self.optimizer.load_state_dict({"m": arrays["adam_m"], "v": arrays["adam_v"], "t": meta["adam_t"]})

    def _after_load(self):
        self.theta = self.policy.get_parameters()


ES.__doc__ = document(ES.__doc__, AGENT_OPTIONS + ES_OPTIONS + RUNNER_OPTIONS)
