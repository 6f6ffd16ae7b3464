"""``RepeatPrevious``: answer with the token observed a fixed number of steps earlier.

Registered as ``ssmn/RepeatPrevious-v0``.
"""

from __future__ import annotations

from gymnasium import spaces

from ssmn_rl.envs._token_task import TokenTask
from ssmn_rl.envs._validation import check_int, check_render_mode, resolve_difficulty

# Presets: vocab_size in tokens, delay and length in steps.
DIFFICULTIES = {
    "easy": {"vocab_size": 4, "delay": 2, "length": 32},
    "medium": {"vocab_size": 8, "delay": 8, "length": 64},
    "hard": {"vocab_size": 16, "delay": 32, "length": 256},
}


class RepeatPrevious(TokenTask):
    """Output the token that was observed ``delay`` steps ago.

    ## Description
    At reset a sequence of ``length + 1`` tokens is drawn uniformly from ``vocab_size``
    symbols and revealed one per step. From step ``delay`` on, the action at step ``t`` must
    equal the token observed at step ``t - delay``; the first ``delay`` steps are not scored.
    The agent therefore has to keep a sliding buffer of the last ``delay`` tokens. Each token
    is independent of the current one, so a memory-less policy is right only by chance
    (``1 / vocab_size`` of the time).

    ## Action Space
    ``Discrete(vocab_size)``: the token the agent claims was observed ``delay`` steps ago.

    ## Observation Space
    ``Discrete(vocab_size)``: the current token (an ``int``).

    ## Rewards
    ``1 / (length - delay)`` for each scored step answered correctly, 0 otherwise; the return
    lies in ``[0, 1]``.

    ## Starting State
    The first token, drawn uniformly.

    ## Episode End
    Terminated after ``length`` actions; the observation returned with ``terminated=True``
    is one more random token. The registered id has ``max_episode_steps=1024`` as a safety
    net; pass a larger ``max_episode_steps`` to ``gymnasium.make`` for ``length > 1024``.

    ## Arguments
    - ``difficulty`` (``"easy"``, ``"medium"`` or ``"hard"``, default ``"medium"``): presets
      ``(vocab_size, delay, length)`` = ``(4, 2, 32)``, ``(8, 8, 64)``, ``(16, 32, 256)``.
    - ``vocab_size`` (int >= 2, optional): number of distinct tokens; overrides the preset.
    - ``delay`` (int >= 1, optional): how many steps back to recall; overrides the preset.
    - ``length`` (int > delay, optional): number of steps; overrides the preset.
    - ``render_mode`` (``None`` or ``"ansi"``).

    ## Version History
    - v0: initial version.
    """

    def __init__(
        self,
        difficulty: str = "medium",
        vocab_size: int | None = None,
        delay: int | None = None,
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
        self.delay = check_int(name, "delay", preset["delay"] if delay is None else delay)
        self.length = check_int(
            name, "length", preset["length"] if length is None else length,
            minimum=self.delay + 1,
            hint=f"length must exceed delay={self.delay} so that at least one step is scored.",
        )
        self.render_mode = check_render_mode(name, render_mode, self.metadata["render_modes"])
        self.observation_space = spaces.Discrete(self.vocab_size)
        self.action_space = spaces.Discrete(self.vocab_size)

    def _generate(self) -> tuple[list[int], list[int | None]]:
        tokens = self.np_random.integers(self.vocab_size, size=self.length + 1).tolist()
        targets: list[int | None] = [None] * self.delay + tokens[: self.length - self.delay]
        return tokens, targets
