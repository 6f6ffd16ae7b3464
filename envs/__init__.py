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

Baseline policies (random, best memory-less, oracle) live in ``ssmn_rl.envs.baselines``.
"""

import gymnasium

if "ssmn/StatelessCartPole-v0" not in gymnasium.registry:
    gymnasium.register(
        id="ssmn/StatelessCartPole-v0",
        entry_point="ssmn_rl.envs.stateless_cartpole:StatelessCartPole",
        max_episode_steps=500,
    )
if "ssmn/NoisyStatelessCartPole-v0" not in gymnasium.registry:
    gymnasium.register(
        id="ssmn/NoisyStatelessCartPole-v0",
        entry_point="ssmn_rl.envs.stateless_cartpole:StatelessCartPole",
        max_episode_steps=500,
        kwargs={"obs_noise": 0.02},
    )
if "ssmn/StatelessPendulum-v0" not in gymnasium.registry:
    gymnasium.register(
        id="ssmn/StatelessPendulum-v0",
        entry_point="ssmn_rl.envs.stateless_pendulum:StatelessPendulum",
        max_episode_steps=200,
    )
if "ssmn/RepeatFirst-v0" not in gymnasium.registry:
    gymnasium.register(
        id="ssmn/RepeatFirst-v0",
        entry_point="ssmn_rl.envs.repeat_first:RepeatFirst",
        max_episode_steps=1024,
    )
if "ssmn/RepeatPrevious-v0" not in gymnasium.registry:
    gymnasium.register(
        id="ssmn/RepeatPrevious-v0",
        entry_point="ssmn_rl.envs.repeat_previous:RepeatPrevious",
        max_episode_steps=1024,
    )
if "ssmn/CountRecall-v0" not in gymnasium.registry:
    gymnasium.register(
        id="ssmn/CountRecall-v0",
        entry_point="ssmn_rl.envs.count_recall:CountRecall",
        max_episode_steps=1024,
    )
if "ssmn/KeyValueRecall-v0" not in gymnasium.registry:
    gymnasium.register(
        id="ssmn/KeyValueRecall-v0",
        entry_point="ssmn_rl.envs.key_value_recall:KeyValueRecall",
        max_episode_steps=1024,
    )
if "ssmn/ShiftingCartPole-v0" not in gymnasium.registry:
    gymnasium.register(
        id="ssmn/ShiftingCartPole-v0",
        entry_point="ssmn_rl.envs.shifting_cartpole:ShiftingCartPole",
        max_episode_steps=500,
    )
if "ssmn/RegimeStream-v0" not in gymnasium.registry:
    gymnasium.register(
        id="ssmn/RegimeStream-v0",
        entry_point="ssmn_rl.envs.regime_stream:RegimeStream",
        max_episode_steps=500,
    )

ENV_IDS = (
    "ssmn/StatelessCartPole-v0",
    "ssmn/NoisyStatelessCartPole-v0",
    "ssmn/StatelessPendulum-v0",
    "ssmn/RepeatFirst-v0",
    "ssmn/RepeatPrevious-v0",
    "ssmn/CountRecall-v0",
    "ssmn/KeyValueRecall-v0",
    "ssmn/ShiftingCartPole-v0",
    "ssmn/RegimeStream-v0",
)
"""The ids registered by this package, in registration order."""
