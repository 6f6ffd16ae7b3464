"""``BaseAgent``: what ES and PPO share: env and policy set-up, ``predict`` with explicit recurrent
state, the ``learn`` bookkeeping (timestep counters, logger, callbacks, progress bar), and
``save`` / ``load`` through the agent file format of :mod:`save_util`.

``BaseAgent.learn`` owns the training loop: counters, logger, callbacks (called once per
iteration), progress bar, episodic-return logging and log dumps. A subclass implements one
iteration -- ``_learn_iteration()`` (one PPO rollout and update; it advances ``num_timesteps``,
appends finished episodes to ``_finished`` and returns the scalars to log) -- with optional
``_learn_start(reset_num_timesteps)`` / ``_learn_end()`` around the loop; plus
``_hyperparameters()`` (JSON-able constructor arguments) and ``_training_state()`` /
``_set_training_state()`` (everything needed to resume). The constructor and ``learn`` arguments
are declared in :mod:`.arguments` and checked there.
"""
from __future__ import annotations

import numbers
import pathlib
import time
from abc import ABC, abstractmethod

import numpy as np

from ...errors import ConfigError, InputError, ModelFileError
from ...progress_csv import read_csv
from ...serialization import check_plugins_installed, plugin_info
from .arguments import AGENT_OPTIONS, LEARN_OPTIONS, check_arguments
from .callbacks import CallbackList, ProgressBarCallback, to_callback
from .envs import resolve_env, single_spaces
from .logger import Logger
from .policy import SSMNPolicy
from .save_util import load_agent_file, save_agent_file


def _rng_state(rng: np.random.Generator) -> dict:
    return rng.bit_generator.state


def _rng_from_state(state: dict) -> np.random.Generator:
    bg = getattr(np.random, state["bit_generator"])()
    bg.state = state
    return np.random.Generator(bg)


class BaseAgent(ABC):
    """Shared machinery; see :class:`~ssmn_rl.agents.ES` and :class:`~ssmn_rl.agents.PPO`."""

    algo_name = "base"
    value_head = False
    #: The policy used unless ``policy_kwargs`` overrides it key by key (None: the policy module's
    #: DEFAULT_POLICY_KWARGS).
    default_policy_kwargs: dict | None = None

    def __init__(self, policy: str = "standard", env=None, *, policy_kwargs: dict | None = None,
                 env_kwargs: dict | None = None, normalize_obs: bool = True, log_std_init: float = 0.0,
                 seed: int = 0, tensorboard_log=None, verbose: int = 0, _spaces=None):
        check_arguments(type(self).__name__, AGENT_OPTIONS, locals())
        self.seed = int(seed)
        self.verbose = int(verbose)
        self.tensorboard_log = tensorboard_log
        self.env_kwargs = dict(env_kwargs or {})
        if env is None and _spaces is None:
            raise ConfigError("env is required (a registered id, a gymnasium.Env or a VectorEnv)")
        if env is not None:
            self.env_factory, self.env = resolve_env(env, env_kwargs)
            obs_space, act_space = single_spaces(self.env)
        else:
            self.env_factory, self.env = None, None
            obs_space, act_space = _spaces
        self.env_id = None if self.env_factory is None else self.env_factory.name
        self.policy = SSMNPolicy(obs_space, act_space, variant=policy, policy_kwargs=policy_kwargs,
                                 value_head=self.value_head, normalize_obs=normalize_obs,
                                 log_std_init=log_std_init, seed=self.seed,
                                 defaults=self.default_policy_kwargs)
        self.observation_space, self.action_space = obs_space, act_space
        self.num_timesteps = 0
        self._total_timesteps = 0
        self._iteration = 0
        self._start_time = time.time()
        self._timesteps_at_start = 0
        self.last_episodic_return = None
        self._finished = []  # (return, length) of episodes finished since the last log
        self.logger = Logger(None)
        self._predict_rng = np.random.default_rng([self.seed, 7])

    # ------------------------------------------------------------------ learn bookkeeping
    @property
    def target_timesteps(self) -> int:
        """The ``num_timesteps`` the current (or last) ``learn()`` call trains to: its
        ``total_timesteps``, plus the steps before it when ``reset_num_timesteps=False``."""
        return self._total_timesteps

    def _setup_learn(self, total_timesteps, callback, reset_num_timesteps, progress_bar, tb_log_name):
        if self.env is None:
            raise ConfigError("this agent has no env: pass env= to load() or set_env() before learn()")
        if reset_num_timesteps:
            self.num_timesteps = 0
            self._iteration = 0
            self._total_timesteps = int(total_timesteps)
        else:
            self._total_timesteps = int(total_timesteps) + self.num_timesteps
        self._start_time = time.time()
        self._timesteps_at_start = self.num_timesteps
        folder = None
        if self.tensorboard_log is not None:
            folder = pathlib.Path(self.tensorboard_log) / tb_log_name if tb_log_name else pathlib.Path(self.tensorboard_log)
        self.logger = Logger(folder, ("csv", "tensorboard") + (("stdout",) if self.verbose >= 2 else ()))
        if folder is not None and not reset_num_timesteps and (folder / "progress.csv").is_file():
            rows = [r for r in read_csv(folder / "progress.csv") if r["global_step"] <= self.num_timesteps]
            self.logger.rows = [{k: v for k, v in r.items() if v == v} for r in rows]
            self.logger.keys = list(rows[0].keys()) if rows else []
        cb = to_callback(callback)
        if progress_bar:
            cb = CallbackList([cb, ProgressBarCallback()])
        cb.init_callback(self)
        return cb

    def learn(self, total_timesteps: int, callback=None, log_interval: int = 1, tb_log_name: str = "",
              reset_num_timesteps: bool = True, progress_bar: bool = False):
        """Run training iterations until `total_timesteps` env steps (counted from the current
        ``num_timesteps`` when ``reset_num_timesteps=False``); returns self.

        After each iteration: ``charts/episodic_return`` and ``charts/episodic_length`` (means over
        the episodes finished in it), the iteration's own scalars and ``charts/SPS`` are recorded,
        callbacks run (False stops training), and every `log_interval` iterations the logger dumps."""
        check_arguments(f"{type(self).__name__}.learn", LEARN_OPTIONS, locals())
        cb = self._setup_learn(total_timesteps, callback, reset_num_timesteps, progress_bar, tb_log_name)
        self._finished = []
        self._learn_start(reset_num_timesteps)
        try:
            cb.on_training_start()
            while self.num_timesteps < self._total_timesteps:
                stats = self._learn_iteration()
                self._iteration += 1
                if self._finished:
                    self.last_episodic_return = float(np.mean([r for r, _ in self._finished]))
                    self.logger.record("charts/episodic_return", self.last_episodic_return)
                    self.logger.record("charts/episodic_length", float(np.mean([n for _, n in self._finished])))
                    self._finished = []
                for k, v in stats.items():
                    self.logger.record(k, v)
                self.logger.record("charts/SPS", self._sps())
                keep = cb.on_step()
                if self._iteration % log_interval == 0 or not keep:
                    self.logger.dump(self.num_timesteps)
                if not keep:
                    break
        finally:
            try:
                self._learn_end()
            finally:
                cb.on_training_end()
                self.logger.close()
        return self

    def _learn_start(self, reset_num_timesteps: bool) -> None:
        """Hook run once before the first iteration of :meth:`learn`."""

    @abstractmethod
    def _learn_iteration(self) -> dict:
        """One training iteration: advance ``num_timesteps``, append finished episodes to
        ``_finished``, return the scalars to log (each algorithm defines it; a subclass without
        it cannot be instantiated)."""

    def _learn_end(self) -> None:
        """Hook run once after the last iteration of :meth:`learn` (also after an exception)."""

    def _sps(self) -> float:
        return (self.num_timesteps - self._timesteps_at_start) / max(time.time() - self._start_time, 1e-9)

    def set_env(self, env, env_kwargs: dict | None = None) -> None:
        """Attach an environment (e.g. after ``load``); its spaces must match the policy's."""
        factory, inst = resolve_env(env, env_kwargs)
        obs_space, act_space = single_spaces(inst)
        if obs_space != self.observation_space or act_space != self.action_space:
            raise ConfigError(f"env spaces ({obs_space}, {act_space}) differ from the agent's "
                              f"({self.observation_space}, {self.action_space})")
        self.env_factory, self.env = factory, inst
        self.env_kwargs = dict(env_kwargs or {})
        self.env_id = None if factory is None else factory.name

    # ------------------------------------------------------------------ inference
    def predict(self, observation, state=None, episode_start=None, deterministic: bool = False):
        """Action(s) for `observation` (one, or a batch with a leading env axis) and the next state.

        `state` is the SSMNState returned by the previous call (None: fresh state);
        `episode_start` (bool per env) resets those streams before the step. The training state of
        the policy is left untouched."""
        if not (isinstance(deterministic, (bool, np.bool_))
                or (isinstance(deterministic, numbers.Integral) and deterministic in (0, 1))):
            raise InputError(f"deterministic must be a bool, got {deterministic!r}")
        pol = self.policy
        batched = pol.is_batched(observation)
        x = pol.normalize(pol.encode(observation, batched))
        B = x.shape[0]
        # a Stream over a copy of `state`: the policy's own live state is never touched, so
        # predict can run from several threads at once and during training
        stream = pol.model.stream(state, batch_size=B if state is None else None)
        if episode_start is not None:
            try:
                es = np.asarray(episode_start)
            except (ValueError, TypeError):  # ragged or unconvertible
                es = np.empty(0, object)
            if es.size != B or es.dtype.kind not in "biuf":
                raise ConfigError(f"episode_start must hold {B} booleans (one per env), got "
                                  f"{es.dtype} of shape {es.shape}")
            es = es.astype(bool).reshape(-1)
            if es.any() and stream.state.batch_size == B:
                stream.reset(mask=es)
        a, _ = pol.act(x, deterministic, self._predict_rng, stream=stream)
        new_state = stream.state
        env_a = pol.dist.to_env(a)
        return (env_a if batched else env_a[0]), new_state

    # ------------------------------------------------------------------ files
    def hyperparameters(self) -> dict:
        """The algorithm's constructor arguments, JSON-able (what ``save()`` stores with the
        policy; ``ssmn-rl train`` writes them to its run's config.json)."""
        return dict(self._hyperparameters())

    def _hyperparameters(self) -> dict:
        """JSON-able constructor arguments of the subclass."""
        return {}

    def _training_state(self) -> tuple[dict, dict]:
        """(JSON meta, arrays) needed to resume training exactly."""
        return {}, {}

    def _set_training_state(self, meta: dict, arrays: dict) -> None:
        """Inverse of :meth:`_training_state`."""

    def _after_load(self) -> None:
        """Hook run by :meth:`load` once the saved parameters are in the policy."""

    def save(self, path, checkpoint: bool = False) -> None:
        """Write the agent to `path` (.npz, non-executable). ``checkpoint=True`` also stores the
        optimiser, RNG and counter state needed to resume training exactly."""
        pol = self.policy
        cfg = pol.model.config
        meta = {"algo": self.algo_name, "policy": pol.config(), "hyperparameters": self._hyperparameters(),
                "plugins": plugin_info(cfg.variant, cfg.rule),
                "env_id": self.env_id if isinstance(self.env_id, str) else None, "env_kwargs": self.env_kwargs,
                "num_timesteps": int(self.num_timesteps), "seed": self.seed, "checkpoint": bool(checkpoint)}
        arrays = {"parameters": pol.get_parameters()}
        if pol.obs_rms is not None:
            arrays.update(obs_mean=pol.obs_rms.mean, obs_var=pol.obs_rms.var, obs_count=np.array(pol.obs_rms.count))
        if checkpoint:
            tmeta, tarrays = self._training_state()
            meta["training"] = {**tmeta, "total_timesteps": int(self._total_timesteps),
                                "iteration": int(self._iteration), "predict_rng": _rng_state(self._predict_rng)}
            arrays.update({f"train_{k}": v for k, v in tarrays.items()})
        save_agent_file(path, meta, arrays)

    @classmethod
    def load(cls, path, env=None, **kwargs):
        """Rebuild an agent saved by :meth:`save`. `env` (optional for predict-only use) attaches an
        environment; by default the saved env id is re-made when there is one. Extra keyword
        arguments override saved hyperparameters (e.g. ``backend``, ``tensorboard_log``)."""
        meta, arrays = load_agent_file(path)
        if meta.get("algo") != cls.algo_name:
            raise ModelFileError(f"{str(path)!r} holds a {meta.get('algo')!r} agent, not {cls.algo_name!r}. "
                                 f"HINT: load it with ssmn_rl.agents.{str(meta.get('algo')).upper()}.load(path)")
        from .policy import saved_policy_kwargs, space_from_dict
        try:
            pc = meta["policy"]
            check_plugins_installed(path, pc["variant"], pc["policy_kwargs"].get("rule"),
                                    meta.get("plugins"))
            if env is None and meta.get("env_id"):
                env = meta["env_id"]
            hp = {**meta["hyperparameters"], **kwargs}
            spaces_ = (space_from_dict(pc["observation_space"]), space_from_dict(pc["action_space"]))
            policy_kwargs = saved_policy_kwargs(pc)
        except (KeyError, TypeError, AttributeError, ValueError) as e:
            raise ModelFileError(f"{str(path)!r}: stored agent description is invalid: "
                                 f"{type(e).__name__}: {e}") from e
        agent = cls(pc["variant"], env, policy_kwargs=policy_kwargs, seed=meta["seed"],
                    normalize_obs=pc["normalize_obs"], log_std_init=pc["log_std_init"],
                    env_kwargs=meta.get("env_kwargs") if isinstance(env, str) else None,
                    _spaces=spaces_, **hp)
        agent.policy.set_parameters(arrays["parameters"])
        if agent.policy.obs_rms is not None:
            agent.policy.obs_rms.load_state_dict({"mean": arrays["obs_mean"], "var": arrays["obs_var"],
                                                  "count": float(arrays["obs_count"])})
        agent.num_timesteps = int(meta["num_timesteps"])
        agent._after_load()
        if meta.get("checkpoint"):
            t = meta["training"]
            agent._total_timesteps = int(t["total_timesteps"])
            agent._iteration = int(t["iteration"])
            agent._predict_rng = _rng_from_state(t["predict_rng"])
            agent._set_training_state(t, {k[6:]: v for k, v in arrays.items() if k.startswith("train_")})
        return agent
