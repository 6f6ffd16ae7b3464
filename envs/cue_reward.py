"""``CueReward``: learn, within one episode, which of several new cues is rewarded.

Registered as ``ssmn/CueReward-v0``. A within-lifetime learning task in the style of Miconi et
al. 2019 ("Backpropamine", the cue-reward association of their Fig. 1): the cues and the rewarded
one are drawn anew every episode, so weights trained across episodes cannot store the answer —
only what the agent learns inside the episode helps.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ssmn_rl.envs._validation import check_discrete_action, check_int, check_render_mode, resolve_difficulty

# Presets: n_cues distinct binary patterns of cue_dim bits, n_trials choices per episode.
DIFFICULTIES = {
    "easy": {"n_cues": 3, "cue_dim": 6, "n_trials": 10},
    "medium": {"n_cues": 4, "cue_dim": 8, "n_trials": 20},
    "hard": {"n_cues": 8, "cue_dim": 12, "n_trials": 40},
}


class CueReward(gym.Env):
    """Pick the rewarded cue out of a pair; which cue is rewarded changes every episode.

    ## Description
    At reset ``n_cues`` distinct random patterns of ``cue_dim`` bits (entries ±1) are drawn,
    and one of them becomes the rewarded cue. Every step shows two different cues, side by
    side, one of which is always the rewarded one; the agent picks a side. The observation also
    carries the previous step's action and whether it was right, so an agent that remembers
    which pattern earned a reward can pick it from then on. The first choice is a guess; after
    it the answer is known, so the best achievable return is close to 1, while a policy that
    cannot learn within the episode stays at chance (0.5).

    ## Action Space
    ``Discrete(2)``: 0 picks the left cue, 1 the right one.

    ## Observation Space
    ``Box(-1, 1, (2 * cue_dim + 3,), float32)``: the left cue, the right cue, the previous action
    one-hot (zeros at the first step) and the previous outcome (+1 right, -1 wrong, 0 at the
    first step).

    ## Rewards
    ``1 / n_trials`` for each pick of the rewarded cue, 0 otherwise; the return is the fraction
    of right picks, in ``[0, 1]``.

    ## Starting State
    Cues, the rewarded cue and the first pair drawn from the episode's generator.

    ## Episode End
    Terminated after ``n_trials`` picks (registered with ``max_episode_steps=1024`` as a safety
    net).

    ## Arguments
    - ``difficulty`` (``"easy"``, ``"medium"`` or ``"hard"``, default ``"medium"``): presets
      ``(n_cues, cue_dim, n_trials)`` = ``(3, 6, 10)``, ``(4, 8, 20)``, ``(8, 12, 40)``.
    - ``n_cues`` (int >= 2, optional), ``cue_dim`` (int >= 2, optional), ``n_trials``
      (int >= 1, optional): override the preset.
    - ``render_mode`` (``None`` or ``"ansi"``).

    ## Version History
    - v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, difficulty: str = "medium", n_cues: int | None = None, cue_dim: int | None = None,
                 n_trials: int | None = None, render_mode: str | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        preset = resolve_difficulty(name, difficulty, DIFFICULTIES)
        self.difficulty = difficulty
        self.n_cues = check_int(name, "n_cues", preset["n_cues"] if n_cues is None else n_cues, minimum=2,
                                hint="a pair needs two different cues.")
        self.cue_dim = check_int(name, "cue_dim", preset["cue_dim"] if cue_dim is None else cue_dim, minimum=2)
        if 2 ** self.cue_dim < self.n_cues:
            raise ValueError(f"{name}: {self.n_cues} distinct cues do not fit in cue_dim={self.cue_dim} bits; "
                             f"got n_cues={self.n_cues}. HINT: cue_dim >= log2(n_cues).")
        self.n_trials = check_int(name, "n_trials", preset["n_trials"] if n_trials is None else n_trials)
        self.render_mode = check_render_mode(name, render_mode, self.metadata["render_modes"])
        self.observation_space = spaces.Box(-1.0, 1.0, (2 * self.cue_dim + 3,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.cues = np.zeros((self.n_cues, self.cue_dim), np.float32)
        self.target = 0
        self.pair = (0, 1)
        self.trial = 0
        self._last = (None, 0.0)  # previous action and outcome

    def _draw_cues(self) -> np.ndarray:
        codes = self.np_random.choice(2 ** min(self.cue_dim, 62), self.n_cues, replace=False)
        bits = (codes[:, None] >> np.arange(self.cue_dim)[None, :]) & 1
        return (2.0 * bits - 1.0).astype(np.float32)

    def _draw_pair(self) -> tuple[int, int]:
        other = int(self.np_random.integers(self.n_cues - 1))
        other += other >= self.target
        return (self.target, other) if self.np_random.integers(2) == 0 else (other, self.target)

    def _obs(self) -> np.ndarray:
        action, outcome = self._last
        prev = np.zeros(2, np.float32)
        if action is not None:
            prev[action] = 1.0
        return np.concatenate([self.cues[self.pair[0]], self.cues[self.pair[1]], prev,
                               np.array([outcome], np.float32)])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.cues = self._draw_cues()
        self.target = int(self.np_random.integers(self.n_cues))
        self.trial = 0
        self._last = (None, 0.0)
        self.pair = self._draw_pair()
        return self._obs(), {}

    def step(self, action):
        a = check_discrete_action(type(self).__name__, action, 2)
        right = self.pair[a] == self.target
        self.trial += 1
        self._last = (a, 1.0 if right else -1.0)
        self.pair = self._draw_pair()
        return self._obs(), (1.0 / self.n_trials if right else 0.0), self.trial >= self.n_trials, False, {}

    def render(self):
        if self.render_mode != "ansi":
            return None
        action, outcome = self._last
        return (f"trial {self.trial}/{self.n_trials}: cues {self.pair} (rewarded {self.target}); "
                f"last pick {action} was {'right' if outcome > 0 else 'wrong' if outcome < 0 else '-'}")
