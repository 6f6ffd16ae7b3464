"""Gymnasium memory-task environments, registered under the ``ssmn`` namespace.

Importing this package (``import ssmn_rl.envs``, done by ``import ssmn_rl``) registers the
ids below with Gymnasium; the environment modules themselves are imported lazily by
``gymnasium.make`` through the string entry points, so the import stays cheap. Each
registration is skipped when the id is already present, so importing twice (or reloading)
does not trigger Gymnasium's "Overriding environment" warning.

| id                                 | what must be remembered                           |
|------------------------------------|---------------------------------------------------|
| ``ssmn/StatelessCartPole-v0``      | cart and pole velocities (positions only)         |
| ``ssmn/NoisyStatelessCartPole-v0`` | the same, from noisy positions                    |
| ``ssmn/StatelessPendulum-v0``      | the angular velocity (angle only)                 |
| ``ssmn/RepeatFirst-v0``            | the first token of the episode                    |
| ``ssmn/RepeatPrevious-v0``         | the token seen ``delay`` steps ago                |
| ``ssmn/CountRecall-v0``            | how often each token has appeared                 |
| ``ssmn/KeyValueRecall-v0``         | a dictionary of key/value pairs                   |
| ``ssmn/ShiftingCartPole-v0``       | the current (unobserved, changing) physics        |
| ``ssmn/RegimeStream-v0``           | the phase and the current (switching) regime      |
| ``ssmn/CueReward-v0``              | which new cue earned a reward (learned in-episode) |

Baseline policies (random, best memory-less, oracle) live in ``ssmn_rl.envs.baselines``.
"""

import gymnasium


def _register(id: str, entry_point: str, max_episode_steps: int, **kwargs) -> None:
    if id not in gymnasium.registry:
        gymnasium.register(id=id, entry_point=entry_point, max_episode_steps=max_episode_steps,
                           kwargs=kwargs)


_register("ssmn/StatelessCartPole-v0", "ssmn_rl.envs.stateless_cartpole:StatelessCartPole", 500)
_register("ssmn/NoisyStatelessCartPole-v0", "ssmn_rl.envs.stateless_cartpole:StatelessCartPole", 500,
          obs_noise=0.02)
_register("ssmn/StatelessPendulum-v0", "ssmn_rl.envs.stateless_pendulum:StatelessPendulum", 200)
_register("ssmn/RepeatFirst-v0", "ssmn_rl.envs.repeat_first:RepeatFirst", 1024)
_register("ssmn/RepeatPrevious-v0", "ssmn_rl.envs.repeat_previous:RepeatPrevious", 1024)
_register("ssmn/CountRecall-v0", "ssmn_rl.envs.count_recall:CountRecall", 1024)
_register("ssmn/KeyValueRecall-v0", "ssmn_rl.envs.key_value_recall:KeyValueRecall", 1024)
_register("ssmn/ShiftingCartPole-v0", "ssmn_rl.envs.shifting_cartpole:ShiftingCartPole", 500)
_register("ssmn/RegimeStream-v0", "ssmn_rl.envs.regime_stream:RegimeStream", 500)
_register("ssmn/CueReward-v0", "ssmn_rl.envs.cue_reward:CueReward", 1024)

ENV_IDS = tuple(k for k in gymnasium.registry if k.startswith("ssmn/"))
"""The ids registered by this package, in registration order."""
