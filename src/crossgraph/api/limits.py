"""Per-key rate limits (OWASP API4): a token bucket per API key, kept in this process.

A key may spend `rate` requests per minute, refilled continuously, with a burst of one
minute's worth: a key idle for a minute may send `rate` requests at once, then one every
60/rate seconds. The rate comes from the key's broadest scope (`api_rate_read`,
`api_rate_write`, `api_rate_admin`; 0 = unlimited, the admin default: those are the
operators' keys, and a reload or an incident must not wait). A call costs 1; a batch call
costs `api_rate_batch_account_cost` per account, at most one full bucket, so the largest
batch still passes once the key has been idle for a minute.

The buckets live in the process. With `crossgraph serve --workers N` each worker keeps its
own and the kernel spreads connections over the workers, so a key gets up to N x its rate in
total (exactly N x for a client that spreads its calls; less for one keep-alive connection,
which stays with one worker). Set the rates to the total you want divided by N, or limit
at a proxy in front of several replicas.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import HTTPException
from prometheus_client import Counter

from crossgraph.keys import ApiKey, Scope
from crossgraph.settings import Settings

TOO_MANY = 429


@dataclass
class _Bucket:
    tokens: float
    stamp: float


def broadest(key: ApiKey) -> Scope:
    """admin > write > read: the scope whose rate applies to the key."""
    for scope in ("admin", "write"):
        if scope in key.scopes:
            return scope
    return "read"


class RateLimiter:
    def __init__(
        self,
        rates: Mapping[Scope, int],
        refused: Counter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates = dict(rates)
        self.refused = refused  # crossgraph_rate_limited_total, by key name
        self.clock = clock
        self._buckets: dict[bytes, _Bucket] = {}
        self._lock = threading.Lock()  # the batch route may ask from a worker thread

    @classmethod
    def from_settings(cls, settings: Settings, refused: Counter | None = None) -> RateLimiter:
        rates: dict[Scope, int] = {
            "read": settings.api_rate_read,
            "write": settings.api_rate_write,
            "admin": settings.api_rate_admin,
        }
        return cls(rates, refused)

    def rate(self, key: ApiKey) -> int:
        """Requests per minute the key may make; 0 = unlimited."""
        return self.rates.get(broadest(key), 0)

    def wait(self, key: ApiKey, cost: float = 1.0, paid: float = 0.0) -> float:
        """Spend `cost` requests of the key's bucket (`paid` of them already spent on this call):
        0.0 when admitted, else the seconds until it could be, and nothing is spent."""
        per_minute = self.rate(key)
        if per_minute == 0:
            return 0.0
        capacity = float(per_minute)
        need = min(cost, capacity) - paid  # a call bigger than the bucket waits for a full one
        if need <= 0:
            return 0.0
        per_second = per_minute / 60.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.setdefault(key.digest, _Bucket(capacity, now))
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * per_second)
            bucket.stamp = now
            if bucket.tokens >= need:
                bucket.tokens -= need
                return 0.0
            return (need - bucket.tokens) / per_second

    def admit(self, key: ApiKey, cost: float = 1.0, paid: float = 0.0) -> None:
        """As `wait`, raising the 429 (with Retry-After, whole seconds) when over the limit."""
        seconds = self.wait(key, cost, paid)
        if seconds <= 0:
            return
        if self.refused is not None:
            self.refused.labels(key=key.name).inc()
        retry = max(1, math.ceil(seconds))
        what = "this call" if cost - paid <= 1 else f"this call ({math.ceil(cost)} requests' worth)"
        raise HTTPException(
            TOO_MANY,
            f"API key {key.name!r} is over its rate limit of {self.rate(key)} requests per minute "
            f"(api_rate_{broadest(key)}); {what} fits again in {retry} s",
            headers={"Retry-After": str(retry)},
        )
