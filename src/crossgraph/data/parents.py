"""Account groups: every account has at most one parent, and following parents must end."""

from __future__ import annotations

from collections.abc import Mapping


def parent_cycles(parent_of: Mapping[str, str | None]) -> list[list[str]]:
    """The cycles among parent links, each as the accounts on it in parent order, starting
    from the first one met in `parent_of`'s order (an account that is its own parent is a
    cycle of one). Linear time: each account is walked once."""
    on_walk, done = 1, 2
    state: dict[str, int] = {}
    cycles: list[list[str]] = []
    for start in parent_of:
        walk: list[str] = []
        account: str | None = start
        while account is not None and account not in state:
            state[account] = on_walk
            walk.append(account)
            account = parent_of.get(account)
        if account is not None and state[account] == on_walk:
            cycles.append(walk[walk.index(account) :])
        for visited in walk:
            state[visited] = done
    return cycles
