"""Gymnasium agents with an SSMN policy: evolution strategies (:class:`ES`) and recurrent PPO
(:class:`PPO`), in the Stable-Baselines3 API (``learn`` / ``predict`` / ``save`` / ``load``), with
rollouts in-process, in local processes or on Ray, callbacks, and TensorBoard + CSV logs."""
from .common.callbacks import (BaseCallback, CallbackList, CheckpointCallback, EvalCallback,
                               ProgressBarCallback, StopTrainingOnRewardThreshold)
from .common.policy import SSMNPolicy
from .es import ES
from .ppo import PPO
from .evaluation import evaluate_policy

__all__ = ["ES", "PPO", "SSMNPolicy", "evaluate_policy", "BaseCallback", "CallbackList", "CheckpointCallback",
           "EvalCallback", "ProgressBarCallback", "StopTrainingOnRewardThreshold"]
