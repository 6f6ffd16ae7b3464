"""Recurrent PPO (Schulman et al. 2017) on an SSMN policy, trained by exact BPTT through the C core.

Rollouts carry one SSMN stream per env, reset where ``episode_start`` is true, and store the
pre-step state where each sequence begins. Minibatches are whole sequences (split at episode
starts, padded and masked); the clipped surrogate, value and entropy losses are differentiated by
hand with respect to the SSMN outputs and fed to ``SSMN.value_and_grad``. With
``policy_kwargs["critic"] == "shared"`` one SSMN gives both heads: its last output is the value, the
others parametrise the action distribution (plus a free log-std vector for Box actions). With
``"separate"`` a second SSMN of the same configuration (its own recurrent state, stored beside the
actor's at every sequence start) gives the value, and the value loss trains only that SSMN.
GAE, advantage normalisation, optional reward normalisation (running std of the discounted
return), global-norm gradient clipping, learning-rate and clip-range schedules, optional target-KL
early stop. Truncated episodes bootstrap from the
value of their final observation.

Rollouts run in env runners (:mod:`~ssmn_rl.agents.common.env_runners`) on a backend chosen by
``backend`` (in-process, local processes or Ray): each steps its share of the envs with a copy of
the policy and returns trajectories; the update runs here. The same seed gives bit-identical
parameters on every backend and worker count.
"""
from __future__ import annotations

import weakref

import numpy as np

from ..optim import Adam
from .common.arguments import (AGENT_OPTIONS, PPO_OPTIONS, RUNNER_OPTIONS, check_arguments, check_ray_address,
                               document)
from .common.base import BaseAgent, _rng_from_state, _rng_state
from .common.buffers import RecurrentRolloutBuffer
from .common.env_runners import EnvRunnerGroup, check_runner_split
from .common.normalize import RunningMeanStd
from .common.policy import PPO_DEFAULT_POLICY_KWARGS
from .common.schedules import describe_schedule, make_schedule


def _explained_variance(pred, target) -> float:
    var = np.var(target)
    return float("nan") if var == 0 else float(1 - np.var(target - pred) / var)


class PPO(BaseAgent):
    """Recurrent proximal policy optimisation with an SSMN actor-critic (Stable-Baselines3-like API).

    The defaults (policy :data:`~ssmn_rl.agents.common.policy.PPO_DEFAULT_POLICY_KWARGS`, 20 epochs,
    learning rate and clip range linear from 1e-3 and 0.2, reward normalisation) are one generic
    setting chosen by ``scripts/sweep_defaults.py`` over several tasks, not tuned per env.

    Parameters
    ----------
    env : str, gymnasium.Env or gymnasium.vector.VectorEnv (same-step autoreset)
        The environment: a registered id (needed by the "process" and "ray" backends, which rebuild
        it in their workers), an instance, or a vector env.
    {parameters}

    Notes
    -----
    Each env samples its actions from its own random stream (derived from ``seed``, the step
    count and the env's index) and the runners normalise observations with the statistics of the
    start of the rollout; the statistics then take in the rollout's observations step by step.
    So results do not depend on how the envs are split over workers. Runners (and their episodes
    in progress) persist across ``learn`` calls; :meth:`close` releases them.

    Resuming from a checkpoint (``save(path, checkpoint=True)``, e.g. by
    :class:`~ssmn_rl.agents.CheckpointCallback`, then ``PPO.load`` and
    ``learn(..., reset_num_timesteps=False)``) restores the parameters, Adam moments, observation
    (and reward-normalisation) statistics, minibatch/action RNG, schedules' progress and step
    counters, but **not** the environments' internal state, the episodes in progress or the policy's recurrent state
    (the agent file holds arrays and JSON only, never pickled environments). The resumed run
    starts every env with a fresh episode, reset with a seed derived from ``(seed,
    num_timesteps)``, so it continues the same training but its curve is not bit-identical to an
    uninterrupted run's. ES resumes exactly (its generations start from fresh episodes anyway).
    """

    algo_name = "ppo"
    value_head = True
    default_policy_kwargs = PPO_DEFAULT_POLICY_KWARGS

    def __init__(self, policy: str = "standard", env=None, *, learning_rate="lin_1e-3", n_envs: int = 8,
                 n_steps: int = 32, batch_size: int = 256, n_epochs: int = 20, gamma: float = 0.98,
                 gae_lambda: float = 0.8, clip_range="lin_0.2", ent_coef: float = 0.0, vf_coef: float = 0.5,
                 max_grad_norm: float = 0.5, normalize_advantage: bool = True, target_kl: float | None = None,
                 reward_scale: float = 1.0, normalize_reward: bool = True, reward_clip: float = 10.0,
                 policy_kwargs: dict | None = None, env_kwargs: dict | None = None, normalize_obs: bool = True,
                 log_std_init: float = 0.0, seed: int = 0, tensorboard_log=None, verbose: int = 0,
                 backend: str = "inline", n_workers: int | None = None, ray_address: str | None = None,
                 _spaces=None):
        check_arguments(type(self).__name__, PPO_OPTIONS + RUNNER_OPTIONS, locals())
        check_ray_address(backend, ray_address)
        super().__init__(policy, env, policy_kwargs=policy_kwargs, env_kwargs=env_kwargs,
                         normalize_obs=normalize_obs, log_std_init=log_std_init, seed=seed,
                         tensorboard_log=tensorboard_log, verbose=verbose, _spaces=_spaces)
        self.learning_rate, self.clip_range = learning_rate, clip_range
        self.lr_schedule = make_schedule(learning_rate, "learning_rate")
        self.clip_schedule = make_schedule(clip_range, "clip_range")
        self.n_envs = self.env.num_envs if hasattr(self.env, "num_envs") else n_envs
        self.backend, self.n_workers, self.ray_address = backend, n_workers, ray_address
        check_runner_split(1 if n_workers is None else n_workers, self.n_envs, backend,
                           rebuildable=self.env is None or self.env_factory is not None)
        self.n_steps, self.batch_size, self.n_epochs = n_steps, batch_size, n_epochs
        self.gamma, self.gae_lambda = float(gamma), float(gae_lambda)
        self.ent_coef, self.vf_coef, self.max_grad_norm = float(ent_coef), float(vf_coef), float(max_grad_norm)
        self.normalize_advantage, self.target_kl = bool(normalize_advantage), target_kl
        self.reward_scale = float(reward_scale)
        self.normalize_reward, self.reward_clip = bool(normalize_reward), float(reward_clip)
        self.ret_rms = RunningMeanStd(1) if self.normalize_reward else None
        self._disc_ret = None
        self.optimizer = Adam(self.policy.n_parameters, lr=1.0, max_grad_norm=self.max_grad_norm)
        self._rng = np.random.default_rng([self.seed, 1])
        self._runners = None         # EnvRunnerGroup, started by _start_envs
        self._runners_env = None     # the env they were built for
        self._close_runners = None   # finalizer releasing them with the agent
        self._last_obs = None        # encoded observations the next rollout starts from
        self._ep_acc = None

    # ------------------------------------------------------------------ rollout
    def _start_envs(self):
        if self._runners is None or not self._runners.started or self._runners_env is not self.env:
            self.close()
            self.n_envs = self.env.num_envs if hasattr(self.env, "num_envs") else self.n_envs
            self._runners = EnvRunnerGroup(self.backend, self.n_workers, self.ray_address, self.policy,
                                           self.env_factory, self.env, self.n_envs, self.seed)
            self._runners_env = self.env
            self._close_runners = weakref.finalize(self, self._runners.close)
            self._last_obs = None
        if self._last_obs is None:
            # a fresh run resets from `seed`; a resumed one (see Notes) from (seed, num_timesteps)
            reset_seed = self.seed if self.num_timesteps == 0 else \
                int(np.random.SeedSequence([self.seed, self.num_timesteps]).generate_state(1)[0])
            self._last_obs = self._runners.reset(reset_seed)
            self._disc_ret = None

    def close(self) -> None:
        """Release the env runners (worker processes or Ray actors) and their envs; the next
        ``learn`` starts new ones, every env with a fresh episode."""
        if self._close_runners is not None:
            self._close_runners()
        self._runners = self._runners_env = self._close_runners = None
        self._last_obs = None

    def _collect_rollout(self) -> RecurrentRolloutBuffer:
        pol, dist, rms = self.policy, self.policy.dist, self.policy.obs_rms
        # the runners act with these parameters and observation statistics (see Notes)
        r = self._runners.rollout(pol.get_parameters(), None if rms is None else rms.state_dict(),
                                  self.n_steps, self.num_timesteps)
        act_dtype = np.float32 if dist.continuous else np.int64
        buf = RecurrentRolloutBuffer(self.n_steps, self.n_envs, pol.encoder.dim, dist.action_shape, act_dtype)
        buf.obs[...] = pol.normalize(r["raw_obs"])
        buf.actions[...], buf.values[...], buf.log_probs[...] = r["actions"], r["values"], r["log_probs"]
        buf.episode_starts[...], buf.seq_states = r["episode_starts"], r["seq_states"]
        buf.critic_states = r["critic_states"]
        for t in range(self.n_steps):  # statistics and rewards step by step, in env order
            if rms is not None:
                rms.update(r["raw_obs"][t])
            self._track_returns(r["rewards"][t], r["dones"][t])
            # truncated episodes bootstrap from the value of their final observation
            buf.rewards[t] = self._learning_reward(r["rewards"][t], r["dones"][t]) + self.gamma * r["final_values"][t]
        self._last_obs = r["last_obs"]
        self.num_timesteps += self.n_steps * self.n_envs
        buf.compute_returns_and_advantage(r["last_values"], r["last_starts"].astype(float), self.gamma, self.gae_lambda)
        return buf

    def _learning_reward(self, raw_rew: np.ndarray, dones: np.ndarray) -> np.ndarray:
        """The reward PPO learns from: scaled by `reward_scale`, then (``normalize_reward``) divided
        by the running std of the per-env discounted return, which restarts at episode ends."""
        rew = raw_rew * self.reward_scale
        if self.ret_rms is None:
            return rew
        if self._disc_ret is None or self._disc_ret.shape != rew.shape:
            self._disc_ret = np.zeros_like(rew)
        self._disc_ret = self._disc_ret * self.gamma + rew
        self.ret_rms.update(self._disc_ret[:, None])
        self._disc_ret[dones] = 0.0
        return np.clip(rew / np.sqrt(self.ret_rms.var[0] + 1e-8), -self.reward_clip, self.reward_clip)

    def _track_returns(self, rew, dones):
        """Undiscounted episode returns from the raw env rewards (bootstraps excluded)."""
        if self._ep_acc is None:
            self._ep_acc = np.zeros(self.n_envs)
            self._ep_len = np.zeros(self.n_envs, int)
            self._finished = []
        self._ep_acc += rew
        self._ep_len += 1
        for i in np.flatnonzero(dones):
            self._finished.append((float(self._ep_acc[i]), int(self._ep_len[i])))
            self._ep_acc[i], self._ep_len[i] = 0.0, 0

    # ------------------------------------------------------------------ update
    def _train(self, buf: RecurrentRolloutBuffer, progress_remaining: float) -> dict:
        pol, model = self.policy, self.policy.model
        self.optimizer.lr = float(self.lr_schedule(progress_remaining))
        clip = float(self.clip_schedule(progress_remaining))
        logs = {"pg": [], "vf": [], "ent": [], "kl": [], "clipfrac": []}
        stop = False
        for _ in range(self.n_epochs):
            for mb in buf.minibatches(self.batch_size, self._rng):
                loss, value_loss, side = self._minibatch_loss(mb, clip)
                _, g_model = model.value_and_grad(mb["obs"], None, loss=loss, state=mb["state"])
                parts = [g_model.astype(np.float64)]
                if pol.critic is not None:
                    _, g_critic = pol.critic.value_and_grad(mb["obs"], None, loss=value_loss,
                                                            state=mb["critic_state"])
                    parts.append(g_critic.astype(np.float64))
                if pol.extra.size:
                    parts.append(np.asarray(side["dextra"], np.float64))
                grad = np.concatenate(parts)
                theta = self.optimizer.step(pol.get_parameters(), grad)
                pol.set_parameters(theta)
                for k in logs:
                    logs[k].append(side[k])
                if self.target_kl is not None and side["kl"] > 1.5 * self.target_kl:
                    stop = True
                    break
            if stop:
                break
        ev = _explained_variance(buf.values.reshape(-1), buf.returns.reshape(-1))
        return {"losses/policy_loss": np.mean(logs["pg"]), "losses/value_loss": np.mean(logs["vf"]),
                "losses/entropy": np.mean(logs["ent"]), "losses/approx_kl": np.mean(logs["kl"]),
                "losses/clipfrac": np.mean(logs["clipfrac"]), "losses/explained_variance": ev,
                "charts/learning_rate": self.optimizer.lr, "charts/clip_range": clip}

    def _minibatch_loss(self, mb: dict, clip: float):
        """The PPO objective of one padded minibatch as ``value_and_grad`` loss callables.

        Returns ``(loss, value_loss, side)``. Shared critic: ``loss(Y) -> (value, dL/dY)`` over the
        SSMN outputs Y (B, L, D_out) is clipped surrogate + vf_coef * value MSE - ent_coef * entropy
        (means over real steps) and ``value_loss`` is None. Separate critic: ``loss`` is the policy
        part over the actor's outputs and ``value_loss(V)`` the vf_coef * value MSE over the
        critic's outputs V (B, L, 1). `side` is a dict the calls fill with ``dextra`` (gradient of
        the extra parameters, e.g. a Gaussian's log-std) and the logged statistics."""
        pol, dist = self.policy, self.policy.dist
        B, L = mb["mask"].shape
        m = mb["mask"].reshape(-1)
        M = max(m.sum(), 1.0)
        adv = mb["advantages"].reshape(-1)
        if self.normalize_advantage and m.sum() > 1:
            mu = (adv * m).sum() / M
            sd = np.sqrt(((adv - mu) ** 2 * m).sum() / M)
            adv = (adv - mu) / (sd + 1e-8)
        ret, old_logp = mb["returns"].reshape(-1), mb["log_probs"].reshape(-1)
        acts = mb["actions"].reshape((B * L,) + mb["actions"].shape[2:])
        side = {}

        def value_part(v):
            vf = (((v - ret) ** 2) * m).sum() / M
            side["vf"] = vf
            return self.vf_coef * vf, self.vf_coef * 2.0 * (v - ret) * m / M

        def policy_part(logits):
            logp, ent, back = dist.log_prob_entropy(logits, pol.extra, acts)
            ratio = np.exp(np.clip(logp - old_logp, -20, 20))
            s1, s2 = ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv
            pg = -(np.minimum(s1, s2) * m).sum() / M
            en = (ent * m).sum() / M
            active = ~(((adv > 0) & (ratio > 1 + clip)) | ((adv < 0) & (ratio < 1 - clip)))
            g_logp = -adv * ratio * active * m / M
            g_ent = -self.ent_coef * m / M
            dlogits, dextra = back(g_logp, g_ent)
            side["dextra"] = dextra
            lr = logp - old_logp
            side["kl"] = float((((np.exp(lr) - 1) - lr) * m).sum() / M)
            side["clipfrac"] = float(((np.abs(ratio - 1) > clip) * m).sum() / M)
            side["pg"], side["ent"] = pg, en
            return pg - self.ent_coef * en, dlogits

        if pol.critic is not None:
            def actor_loss(Y):
                value, dlogits = policy_part(Y.reshape(B * L, -1).astype(np.float64))
                return value, dlogits.reshape(Y.shape)

            def critic_loss(V):
                value, dv = value_part(V.reshape(B * L).astype(np.float64))
                return value, dv.reshape(V.shape)
            return actor_loss, critic_loss, side

        def loss(Y):
            out = Y.reshape(B * L, -1).astype(np.float64)
            pv, dlogits = policy_part(out[:, :-1])
            vv, dv = value_part(out[:, -1])
            dY = np.concatenate([dlogits, dv[:, None]], axis=1).reshape(Y.shape)
            return pv + vv, dY
        return loss, None, side

    def _learn_start(self, reset_num_timesteps: bool) -> None:
        if reset_num_timesteps:
            self._last_obs = None
        self._ep_acc = None
        self._start_envs()

    def _learn_iteration(self) -> dict:
        """One rollout of ``n_steps`` x ``n_envs`` steps, then ``n_epochs`` of minibatch updates."""
        buf = self._collect_rollout()
        progress = 1.0 - (self.num_timesteps - self.n_steps * self.n_envs) / max(self._total_timesteps, 1)
        return self._train(buf, max(progress, 0.0))

    # ------------------------------------------------------------------ files
    def _hyperparameters(self) -> dict:
        lr, cr = describe_schedule(self.lr_schedule), describe_schedule(self.clip_schedule)
        return {"learning_rate": lr if lr is not None else 1e-3, "clip_range": cr if cr is not None else 0.2,
                "n_envs": self.n_envs, "n_steps": self.n_steps, "batch_size": self.batch_size,
                "n_epochs": self.n_epochs, "gamma": self.gamma, "gae_lambda": self.gae_lambda,
                "ent_coef": self.ent_coef, "vf_coef": self.vf_coef, "max_grad_norm": self.max_grad_norm,
                "normalize_advantage": self.normalize_advantage, "target_kl": self.target_kl,
                "reward_scale": self.reward_scale, "normalize_reward": self.normalize_reward,
                "reward_clip": self.reward_clip, "backend": self.backend, "n_workers": self.n_workers}

    def _training_state(self):
        meta = {"adam_t": int(self.optimizer.t), "rng": _rng_state(self._rng)}
        arrays = {"adam_m": self.optimizer.m, "adam_v": self.optimizer.v}
        if self.ret_rms is not None:
            meta["ret_count"] = float(self.ret_rms.count)
            arrays.update(ret_mean=self.ret_rms.mean, ret_var=self.ret_rms.var)
        return meta, arrays

    def _set_training_state(self, meta, arrays):
        self.optimizer.load_state_dict({"m": arrays["adam_m"], "v": arrays["adam_v"], "t": meta["adam_t"]})
        self._rng = _rng_from_state(meta["rng"])
        if self.ret_rms is not None and "ret_var" in arrays:
            self.ret_rms.load_state_dict({"mean": arrays["ret_mean"], "var": arrays["ret_var"],
                                          "count": meta["ret_count"]})


PPO.__doc__ = document(PPO.__doc__, AGENT_OPTIONS + PPO_OPTIONS + RUNNER_OPTIONS)
