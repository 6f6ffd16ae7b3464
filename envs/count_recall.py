"""``CountRecall``: answer how many times the current token has been seen before.

Registered as ``ssmn/CountRecall-v0``.
"""

from __future__ import annotations

from gymnasium import spaces

from ssmn_rl.envs._token_task import TokenTask
from ssmn_rl.envs._validation import check_int, check_render_mode, resolve_difficulty

# Presets: vocab_size in tokens, length in steps.
DIFFICULTIES = {
    "easy": {"vocab_size": 2, "length": 16},
    "medium": {"vocab_size": 4, "length": 64},
    "hard": {"vocab_size": 8, "length": 256},
}


class CountRecall(TokenTask):
    """Report, at every step, how often the current token occurred earlier in the episode.

    ## Description
    At reset a sequence of ``length + 1`` tokens is drawn uniformly from ``vocab_size``
    symbols and revealed one per step. At step ``t`` the correct action is the number of
    earlier steps ``s < t`` whose token equals the current one. The agent must keep one
    counter per symbol. A memory-less policy sees neither the history nor the time, so the
    best it can do is always give the single most likely count (computed exactly by
    ``ssmn_rl.envs.baselines``).

    ## Action Space
    ``Discrete(length)``: the claimed number of earlier occurrences, ``0 .. length - 1``.

    ## Observation Space
    ``Discrete(vocab_size)``: the current token (an ``int``).

    ## Rewards
    ``1 / length`` for each correct count, 0 otherwise; the return lies in ``[0, 1]``.

    ## Starting State
    The first token, drawn uniformly (its correct count is 0).

    ## Episode End
    Terminated after ``length`` actions; the observation returned with ``terminated=True``
    is one more random token. The registered id has ``max_episode_steps=1024`` as a safety
    net; pass a larger ``max_episode_steps`` to ``gymnasium.make`` for ``length > 1024``.

    ## Arguments
    - ``difficulty`` (``"easy"``, ``"medium"`` or ``"hard"``, default ``"medium"``): presets
      ``(vocab_size, length)`` = ``(2, 16)``, ``(4, 64)``, ``(8, 256)``.
    - ``vocab_size`` (int >= 1, optional): number of distinct tokens; overrides the preset.
    - ``length`` (int >= 1, optional): number of steps; overrides the preset.
    - ``render_mode`` (``None`` or ``"ansi"``).

    ## Version History
    - v0: initial version.
    """

    def __init__(
        self,
        difficulty: str = "medium",
        vocab_size: int | None = None,
        length: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        preset = resolve_difficulty(name, difficulty, DIFFICULTIES)
        self.difficulty = difficulty
        self.vocab_size = check_int(
            name, "vocab_size", preset["vocab_size"] if vocab_size is None else vocab_size
        )
        self.length = check_int(name, "length", preset["length"] if length is None else length)
        self.render_mode = check_render_mode(name, render_mode, self.metadata["render_modes"])
        self.observation_space = spaces.Discrete(self.vocab_size)
        self.action_space = spaces.Discrete(self.length)

    def _generate(self) -> tuple[list[int], list[int | None]]:
        tokens = self.np_random.integers(self.vocab_size, size=self.length + 1).tolist()
        seen = [0] * self.vocab_size
        targets: list[int | None] = []
        for token in tokens[: self.length]:
            targets.append(seen[token])
            seen[token] += 1
        return tokens, targets
