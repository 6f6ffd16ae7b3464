"""Common machinery of the discrete-token memory tasks (``RepeatFirst``, ``RepeatPrevious``,
``CountRecall``, ``KeyValueRecall``).

A token task draws, at reset, the whole observation sequence ``tokens`` and, for each step,
the correct answer (or ``None`` when the step is not scored). Each scored step pays
``1 / n_scored`` for the correct answer and 0 otherwise, so every episode's return lies in
``[0, 1]`` whatever the sizes. The episode terminates after the last scored step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from gymnasium import Env, logger

from ssmn_rl.envs._validation import check_discrete_action


class TokenTask(Env, ABC):
    """Base class: subclasses set the spaces and implement ``_generate``.

    Public attributes after ``reset``: ``tokens`` (the episode's full observation sequence,
    ``len == length + 1``; entries past the current step are not yet revealed), ``targets``
    (correct action per step, ``None`` for unscored steps) and ``step_index`` (number of
    actions taken so far; the current observation is ``tokens[step_index]``).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    length: int

    def __init__(self) -> None:
        self.tokens: list[int] = []
        self.targets: list[int | None] = []
        self.step_index = 0
        self._reward_unit = 0.0

    @abstractmethod
    def _generate(self) -> tuple[list[int], list[int | None]]:
        """Return ``(tokens, targets)`` with ``len(tokens) == length + 1`` and ``len(targets) == length``."""

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.tokens, self.targets = self._generate()
        scored = sum(1 for target in self.targets if target is not None)
        self._reward_unit = 1.0 / scored
        self.step_index = 0
        return self.tokens[0], {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        if not self.tokens:
            raise RuntimeError(f"{type(self).__name__}: call reset() before step().")
        if self.step_index >= self.length:
            raise RuntimeError(
                f"{type(self).__name__}: the episode has terminated; call reset() before step()."
            )
        answer = check_discrete_action(type(self).__name__, action, self.action_space.n)
        target = self.targets[self.step_index]
        reward = self._reward_unit if target is not None and answer == target else 0.0
        self.step_index += 1
        return self.tokens[self.step_index], reward, self.step_index >= self.length, False, {}

    def _describe(self, token: int) -> str:
        """Human-readable name of an observation token (subclasses refine it)."""
        return f"token {token}"

    def render(self) -> str | None:
        if self.render_mode is None:
            logger.warn(f"{type(self).__name__}.render() called without a render_mode; pass render_mode='ansi'.")
            return None
        if not self.tokens:
            return "(not reset)"
        return f"step {self.step_index}/{self.length}: {self._describe(self.tokens[self.step_index])}"
