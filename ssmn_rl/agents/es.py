"""Evolution strategies (Salimans et al. 2017, "OpenAI ES") over an SSMN policy's flat parameters.

Each generation draws ``population_size / 2`` Gaussian directions, scores the policy at
``theta + sigma*eps`` and ``theta - sigma*eps`` (antithetic pairs, the same env seed for both),
turns the returns into centered ranks, and takes an Adam step on the mean along
``sum_i (rank+_i - rank-_i) eps_i`` minus L2 weight decay. Observations are standardised with
running statistics gathered from every rollout. Policies act deterministically (argmax / mean).

Every random number of generation g comes from ``SeedSequence([seed, g, ...])`` and workers
regenerate their noise from a seed, so the learning curve is the same on every backend and a
checkpoint resumes exactly.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..optim import Adam
from .common.backends import BACKENDS, make_backend
from .common.base import BaseAgent
from .common.policy import SSMNPolicy

_WORKER_CACHE: dict = {}


def _worker_objects(policy_cfg: dict, env_factory, env_obj):
    """Per-process cache of (policy, env) so workers build them once, not every generation."""
    key = (repr(sorted(policy_cfg.items(), key=str)), repr(env_factory), id(env_obj) if env_obj is not None else 0)
    got = _WORKER_CACHE.get(key)
    if got is None:
        cfg = {**policy_cfg, "normalize_obs": False}
        policy = SSMNPolicy.from_config(cfg)
        env = env_obj if env_obj is not None else env_factory()
        got = _WORKER_CACHE[key] = (policy, env)
    return got


def _episode(policy, env, theta, mean, std, clip, env_seed, max_steps):
    """One deterministic episode with parameters theta -> (return, length, obs sum, obs sum of squares)."""
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


def es_rollout_task(task: dict) -> list:
    """Worker entry point: evaluate a chunk of antithetic pairs (and/or the unperturbed mean).

    task: policy_cfg, env_factory, env_obj (in-process only), theta (n,), obs_mean, obs_std,
    sigma, items: list of (kind, noise_seed, env_seeds) with kind "pair" or "center".
    Returns one dict per item: returns (2,) or (1,), lengths, obs_sum, obs_sumsq, obs_count.
    """
    policy, env = _worker_objects(task["policy_cfg"], task["env_factory"], task.get("env_obj"))
    theta, mean, std, sigma = task["theta"], task["obs_mean"], task["obs_std"], task["sigma"]
    out = []
    for kind, noise_seed, env_seeds in task["items"]:
        if kind == "center":
            candidates = [theta]
        else:
            eps = np.random.default_rng(noise_seed).standard_normal(theta.size)
            candidates = [theta + sigma * eps, theta - sigma * eps]
        rets, lens = [], []
        s1 = np.zeros(mean.size)
        s2 = np.zeros(mean.size)
        for cand in candidates:
            r_tot = 0.0
            n_tot = 0
            for es in env_seeds:
                r, n, a, b = _episode(policy, env, cand, mean, std, task["obs_clip"], es, task["max_steps"])
                r_tot += r
                n_tot += n
                s1 += a
                s2 += b
            rets.append(r_tot / len(env_seeds))
            lens.append(n_tot)
        out.append({"returns": np.array(rets), "lengths": np.array(lens), "obs_sum": s1, "obs_sumsq": s2})
    return out


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
    policy : str
        Registered SSMN variant ("standard", "custom_split", ...).
    env : str, gymnasium.Env
        Environment (an id is needed for ``backend="process"``/``"ray"``).
    population_size : int
        Perturbations per generation (even: population_size/2 antithetic pairs).
    sigma : float
        Standard deviation of the parameter noise.
    learning_rate : float
        Adam step size on the mean parameters.
    weight_decay : float
        L2 coefficient added to the ES gradient.
    episodes_per_member : int
        Episodes averaged per perturbation (same env seeds for the two members of a pair).
    eval_center : bool
        Also run the unperturbed mean each generation and log ``charts/center_return``.
    backend : {"inline", "process", "ray"}
    n_workers : int, optional
        Worker processes / Ray tasks (default: CPU count; 1 for inline).
    ray_address : str, optional
        Address of an existing Ray cluster to join.
    max_episode_steps : int, optional
        Cap on episode length during training.
    policy_kwargs, env_kwargs, normalize_obs, seed, tensorboard_log, verbose : see BaseAgent.
    """

    algo_name = "es"
    value_head = False

    def __init__(self, policy: str = "standard", env=None, *, population_size: int = 32, sigma: float = 0.1,
                 learning_rate: float = 0.03, weight_decay: float = 0.005, episodes_per_member: int = 1,
                 eval_center: bool = True, backend: str = "inline", n_workers: int | None = None,
                 ray_address: str | None = None, max_episode_steps: int | None = None,
                 policy_kwargs: dict | None = None, env_kwargs: dict | None = None, normalize_obs: bool = True,
                 log_std_init: float = 0.0, obs_clip: float = 5.0, seed: int = 0, tensorboard_log=None, verbose: int = 0, _spaces=None):
        if isinstance(population_size, bool) or not isinstance(population_size, int) or population_size < 2 \
                or population_size % 2:
            raise ConfigError(f"population_size must be an even integer >= 2, got {population_size!r}")
        for name, v in (("sigma", sigma), ("learning_rate", learning_rate)):
            if not isinstance(v, (int, float)) or not v > 0:
                raise ConfigError(f"{name} must be a positive number, got {v!r}")
        if not isinstance(weight_decay, (int, float)) or weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {weight_decay!r}")
        if isinstance(episodes_per_member, bool) or not isinstance(episodes_per_member, int) or episodes_per_member < 1:
            raise ConfigError(f"episodes_per_member must be an integer >= 1, got {episodes_per_member!r}")
        if backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
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
        self.theta = self.policy.get_parameters()
        self.optimizer = Adam(self.theta.size, lr=self.learning_rate)

    # ------------------------------------------------------------------ one generation
    def _generation(self, backend) -> dict:
        g = self._iteration
        n_pairs = self.population_size // 2
        ss = np.random.SeedSequence([self.seed, g])
        noise_seeds = [int(s.generate_state(1)[0]) for s in ss.spawn(n_pairs)]
        env_rng = np.random.default_rng(ss.generate_state(4))
        env_seeds = env_rng.integers(0, 2**31 - 1, size=(n_pairs + 1, self.episodes_per_member))
        items = [("pair", noise_seeds[i], env_seeds[i].tolist()) for i in range(n_pairs)]
        if self.eval_center:
            items.append(("center", 0, env_seeds[n_pairs].tolist()))
        rms = self.policy.obs_rms
        mean = rms.mean if rms is not None else np.zeros(self.policy.encoder.dim)
        std = rms.std if rms is not None else np.ones(self.policy.encoder.dim)
        n_chunks = min(len(items), backend.n_workers)
        bounds = np.linspace(0, len(items), n_chunks + 1).astype(int)
        common = {"policy_cfg": self.policy.config(), "env_factory": self.env_factory, "theta": self.theta,
                  "obs_mean": mean, "obs_std": std, "sigma": self.sigma, "obs_clip": self.obs_clip,
                  "max_steps": self.max_episode_steps}
        if backend.name == "inline":
            common["env_obj"] = self.env if self.env_factory is None else None
        tasks = [{**common, "items": items[bounds[k]:bounds[k + 1]]} for k in range(n_chunks)]
        results = [r for chunk in backend.map(es_rollout_task, tasks) for r in chunk]
        pair_res = results[:n_pairs]
        returns = np.stack([r["returns"] for r in pair_res])          # (n_pairs, 2)
        steps = int(sum(int(r["lengths"].sum()) for r in results))
        # ---- ES gradient on centered ranks
        ranks = centered_ranks(returns)
        w = ranks[:, 0] - ranks[:, 1]
        grad = np.zeros(self.theta.size)
        for wi, seed_i in zip(w, noise_seeds):
            grad += wi * np.random.default_rng(seed_i).standard_normal(self.theta.size)
        grad /= returns.size
        step_grad = -grad + self.weight_decay * self.theta
        new_theta = self.optimizer.step(self.theta, step_grad)
        update_ratio = float(np.linalg.norm(new_theta - self.theta) / (np.linalg.norm(self.theta) + 1e-12))
        self.theta = new_theta
        self.policy.set_parameters(self.theta)
        # ---- observation statistics, merged in item order (backend-independent)
        if rms is not None:
            for r in results:
                n_obs = int(r["lengths"].sum())
                rms.update_from_moments(r["obs_sum"], r["obs_sumsq"], n_obs)
        self.num_timesteps += steps
        self._iteration += 1
        stats = {"charts/episodic_return": float(returns.mean()),
                 "charts/episodic_length": float(np.mean([r["lengths"].mean() for r in pair_res])
                                                 / self.episodes_per_member),
                 "charts/return_max": float(returns.max()), "charts/return_min": float(returns.min()),
                 "losses/grad_norm": float(np.linalg.norm(grad)), "losses/param_norm": float(np.linalg.norm(self.theta)),
                 "losses/update_ratio": update_ratio}
        if self.eval_center:
            stats["charts/center_return"] = float(results[n_pairs]["returns"][0])
        return stats

    def learn(self, total_timesteps: int, callback=None, log_interval: int = 1, tb_log_name: str = "",
              reset_num_timesteps: bool = True, progress_bar: bool = False) -> "ES":
        """Run generations until `total_timesteps` env steps have been used; returns self."""
        cb = self._setup_learn(total_timesteps, callback, reset_num_timesteps, progress_bar, tb_log_name)
        backend = make_backend(self.backend, self.n_workers, self.ray_address)
        try:
            cb.on_training_start()
            while self.num_timesteps < self._total_timesteps:
                stats = self._generation(backend)
                self.last_episodic_return = stats.get("charts/center_return", stats["charts/episodic_return"])
                for k, v in stats.items():
                    self.logger.record(k, v)
                self.logger.record("charts/SPS", self._sps())
                self.logger.record("charts/generation", self._iteration)
                keep = cb.on_step()
                if self._iteration % log_interval == 0 or not keep:
                    self.logger.dump(self.num_timesteps)
                if not keep:
                    break
        finally:
            backend.close()
            cb.on_training_end()
            self.logger.close()
        return self

    # ------------------------------------------------------------------ files
    def _hyperparameters(self) -> dict:
        return {"population_size": self.population_size, "sigma": self.sigma, "learning_rate": self.learning_rate,
                "weight_decay": self.weight_decay, "episodes_per_member": self.episodes_per_member,
                "eval_center": self.eval_center, "backend": self.backend, "n_workers": self.n_workers,
                "max_episode_steps": self.max_episode_steps, "obs_clip": self.obs_clip}

    def _training_state(self):
        return {"adam_t": int(self.optimizer.t)}, {"adam_m": self.optimizer.m, "adam_v": self.optimizer.v,
                                                  "theta": self.theta}

    def _set_training_state(self, meta, arrays):
        self.theta = arrays["theta"].copy()
        self.policy.set_parameters(self.theta)
        self.optimizer.load_state_dict({"m": arrays["adam_m"], "v": arrays["adam_v"], "t": meta["adam_t"]})

    def _after_load(self):
        self.theta = self.policy.get_parameters()
