"""``KeyValueRecall``: memorise key/value pairs, then answer queries for the keys' values.

Registered as ``ssmn/KeyValueRecall-v0``.
"""

from __future__ import annotations

from gymnasium import spaces

from ssmn_rl.envs._token_task import TokenTask
from ssmn_rl.envs._validation import check_int, check_render_mode, resolve_difficulty

# Presets: n_pairs, n_keys, n_values, n_queries are counts of pairs / symbols / questions.
DIFFICULTIES = {
    "easy": {"n_pairs": 2, "n_keys": 4, "n_values": 4, "n_queries": 2},
    "medium": {"n_pairs": 4, "n_keys": 8, "n_values": 8, "n_queries": 4},
    "hard": {"n_pairs": 16, "n_keys": 32, "n_values": 16, "n_queries": 16},
}


class KeyValueRecall(TokenTask):
    """Store a small dictionary shown one token at a time, then look keys up in it.

    ## Description
    Each episode has a write phase and a query phase. In the write phase the agent sees
    ``n_pairs`` key/value pairs, one token per step (key, value, key, value, ...); the keys
    are distinct and drawn from ``n_keys`` symbols, the values are drawn uniformly (with
    repetition) from ``n_values`` symbols. In the query phase it sees ``n_queries`` query
    tokens, each naming one of the stored keys (drawn uniformly with repetition), and must
    answer with that key's value. Actions in the write phase are ignored. A memory-less
    policy sees only the query and is right by chance (``1 / n_values``).

    Token layout of the observation: ``0 .. n_keys - 1`` are keys shown in the write phase,
    ``n_keys .. n_keys + n_values - 1`` are values (value ``v`` is token ``n_keys + v``), and
    ``n_keys + n_values + k`` is the query for key ``k``.

    ## Action Space
    ``Discrete(n_values)``: the value being recalled (value ``v`` is action ``v``).

    ## Observation Space
    ``Discrete(2 * n_keys + n_values)``: the current token (an ``int``), laid out as above.

    ## Rewards
    ``1 / n_queries`` for each query answered with the right value, 0 otherwise (and 0 in the
    write phase); the return lies in ``[0, 1]``.

    ## Starting State
    The first key of the write phase.

    ## Episode End
    Terminated after ``2 * n_pairs + n_queries`` actions; the observation returned with
    ``terminated=True`` is one more (unanswered) query. The registered id has
    ``max_episode_steps=1024`` as a safety net.

    ## Arguments
    - ``difficulty`` (``"easy"``, ``"medium"`` or ``"hard"``, default ``"medium"``): presets
      ``(n_pairs, n_keys, n_values, n_queries)`` = ``(2, 4, 4, 2)``, ``(4, 8, 8, 4)``,
      ``(16, 32, 16, 16)``.
    - ``n_pairs`` (int >= 1, optional): pairs shown in the write phase.
    - ``n_keys`` (int >= n_pairs, optional): size of the key alphabet.
    - ``n_values`` (int >= 2, optional): size of the value alphabet.
    - ``n_queries`` (int >= 1, optional): queries in the query phase.
    - ``render_mode`` (``None`` or ``"ansi"``).

    The stored dictionary of the current episode is kept in the public attribute ``pairs``
    (``{key: value}``), used by the oracle baseline in ``ssmn_rl.envs.baselines``.

    ## Version History
    - v0: initial version.
    """

    def __init__(
        self,
        difficulty: str = "medium",
        n_pairs: int | None = None,
        n_keys: int | None = None,
        n_values: int | None = None,
        n_queries: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        preset = resolve_difficulty(name, difficulty, DIFFICULTIES)
        self.difficulty = difficulty
        self.n_pairs = check_int(name, "n_pairs", preset["n_pairs"] if n_pairs is None else n_pairs)
        self.n_keys = check_int(
            name, "n_keys", preset["n_keys"] if n_keys is None else n_keys,
            minimum=self.n_pairs,
            hint=f"keys in one episode are distinct, so n_keys must be at least n_pairs={self.n_pairs}.",
        )
        self.n_values = check_int(
            name, "n_values", preset["n_values"] if n_values is None else n_values,
            minimum=2, hint="with a single value there is nothing to remember.",
        )
        self.n_queries = check_int(
            name, "n_queries", preset["n_queries"] if n_queries is None else n_queries
        )
        self.render_mode = check_render_mode(name, render_mode, self.metadata["render_modes"])
        self.length = 2 * self.n_pairs + self.n_queries
        self.query_offset = self.n_keys + self.n_values
        self.observation_space = spaces.Discrete(2 * self.n_keys + self.n_values)
        self.action_space = spaces.Discrete(self.n_values)
        self.pairs: dict[int, int] = {}

    def _generate(self) -> tuple[list[int], list[int | None]]:
        rng = self.np_random
        keys = rng.choice(self.n_keys, size=self.n_pairs, replace=False).tolist()
        values = rng.integers(self.n_values, size=self.n_pairs).tolist()
        queried = rng.integers(self.n_pairs, size=self.n_queries + 1).tolist()
        self.pairs = dict(zip(keys, values))
        tokens: list[int] = []
        targets: list[int | None] = []
        for key, value in zip(keys, values):
            tokens += [key, self.n_keys + value]
            targets += [None, None]
        for index in queried:
            tokens.append(self.query_offset + keys[index])
            targets.append(values[index])
        return tokens, targets[: self.length]

    def _describe(self, token: int) -> str:
        if token < self.n_keys:
            return f"key {token}"
        if token < self.query_offset:
            return f"value {token - self.n_keys}"
        return f"query for key {token - self.query_offset}"
