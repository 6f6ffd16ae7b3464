"""``RepeatFirst``: keep answering with the first token of the episode.

Registered as ``ssmn/RepeatFirst-v0``.
"""

from __future__ import annotations

from gymnasium import spaces

from ssmn_rl.envs._token_task import TokenTask
from ssmn_rl.envs._validation import check_int, check_render_mode, resolve_difficulty

# Presets: vocab_size in tokens, length in steps.
DIFFICULTIES = {
    "easy": {"vocab_size": 4, "length": 16},
    "medium": {"vocab_size": 8, "length": 64},
    "hard": {"vocab_size": 16, "length": 256},
}


class RepeatFirst(TokenTask):
    """Answer every step with the token observed at the very first step.

    ## Description
    At reset a sequence of ``length + 1`` tokens is drawn uniformly from ``vocab_size``
    symbols. The agent sees one token per step and must, at every step, output the token it
    saw at step 0. After the first step the observations are pure distractors, so the task
    measures how long an agent can hold one symbol in memory. A memory-less policy can answer
    step 0 correctly (by echoing the observation) but afterwards only guesses.

    ## Action Space
    ``Discrete(vocab_size)``: the token the agent claims was first.

    ## Observation Space
    ``Discrete(vocab_size)``: the current token (an ``int``).

    ## Rewards
    ``1 / length`` for each step answered with the first token, 0 otherwise; the return is
    the fraction of correct answers, in ``[0, 1]``.

    ## Starting State
    The first token, drawn uniformly.

    ## Episode End
    Terminated after ``length`` actions; the observation returned with ``terminated=True``
    is one more distractor. The registered id has ``max_episode_steps=1024`` as a safety net;
    pass a larger ``max_episode_steps`` to ``gymnasium.make`` for ``length > 1024``.

    ## Arguments
    - ``difficulty`` (``"easy"``, ``"medium"`` or ``"hard"``, default ``"medium"``): presets
      ``(vocab_size, length)`` = ``(4, 16)``, ``(8, 64)``, ``(16, 256)``.
    - ``vocab_size`` (int >= 2, optional): number of distinct tokens; overrides the preset.
    - ``length`` (int >= 1, optional): number of answered steps; overrides the preset.
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
            name, "vocab_size", preset["vocab_size"] if vocab_size is None else vocab_size,
            minimum=2, hint="with a single token there is nothing to remember.",
        )
        self.length = check_int(name, "length", preset["length"] if length is None else length)
        self.render_mode = check_render_mode(name, render_mode, self.metadata["render_modes"])
        self.observation_space = spaces.Discrete(self.vocab_size)
        self.action_space = spaces.Discrete(self.vocab_size)

    def _generate(self) -> tuple[list[int], list[int | None]]:
        tokens = self.np_random.integers(self.vocab_size, size=self.length + 1).tolist()
        return tokens, [tokens[0]] * self.length
