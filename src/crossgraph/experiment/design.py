"""What an experiment is and which arm an account falls in: pure, no graph, no HTTP.

An account's arm is a stable hash of (experiment name, account id): every worker, process and
restart puts the account in the same arm, with no table to share and no sticky sessions, and
a new experiment reshuffles accounts independently of earlier ones:

    u = first 8 bytes of sha256("<name>\\x00<account id>") / 2^64      (uniform in [0, 1))
    arm = the first arm whose cumulative share exceeds u
"""

from __future__ import annotations

import functools
import hashlib
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from crossgraph.errors import InvalidInput

CURRENT = "current"  # the arm served by whatever model is promoted
MAX_ARMS = 4
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class Design:
    """Arms (`current` or a model version) and their shares of accounts, in percent."""

    name: str
    arms: tuple[str, ...]
    shares: tuple[int, ...]

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.name):
            raise InvalidInput(
                f"experiment name {self.name!r}: 1-100 letters, digits, '_', '.' or '-', starting "
                "with a letter or digit"
            )
        if not 2 <= len(self.arms) <= MAX_ARMS:
            raise InvalidInput(f"arms: {len(self.arms)} given, an experiment needs 2 to {MAX_ARMS}")
        if len(set(self.arms)) != len(self.arms):
            raise InvalidInput(f"arms: {', '.join(self.arms)} name an arm twice")
        if len(self.shares) != len(self.arms) or sum(self.shares) != 100 or min(self.shares) < 1:
            raise InvalidInput(
                f"share: {'/'.join(map(str, self.shares))} for {len(self.arms)} arms; expected one whole "
                "percentage of at least 1 per arm, adding up to 100 (e.g. 50/50)"
            )

    @classmethod
    def parse(cls, name: str, arms: str, share: str | None = None) -> Design:
        """From the command line: `--arms current,V17 --share 50/50` (default: equal shares)."""
        names = tuple(a.strip() for a in arms.split(",") if a.strip())
        if share is None:
            n = max(len(names), 1)
            shares = tuple(100 // n + (1 if i < 100 % n else 0) for i in range(n))
        else:
            try:
                shares = tuple(int(s) for s in share.split("/"))
            except ValueError:
                raise InvalidInput(f"share {share!r}: expected whole percentages like 50/50") from None
        return cls(name, names, shares)

    def arm_of(self, account_id: str) -> str:
        """On every recommendations request: one sha256 and one bisect."""
        return self.arms[bucket(self._prefix, account_id, self._bounds)]

    @functools.cached_property
    def _prefix(self) -> bytes:
        return f"{self.name}\x00".encode()

    @functools.cached_property
    def _bounds(self) -> tuple[int, ...]:
        # u < cumulative share / 100, in integers: hash x 100 < cumulative share x 2^64
        return tuple(bound * 2**64 for bound in accumulate(self.shares))


def bucket(prefix: bytes, account_id: str, bounds: Sequence[int]) -> int:
    """Index of the first bound above the account's hash x 100 (bounds: cumulative shares x 2^64)."""
    x = int.from_bytes(hashlib.sha256(prefix + account_id.encode()).digest()[:8], "big")
    return min(bisect_right(bounds, x * 100), len(bounds) - 1)
