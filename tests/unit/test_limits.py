"""The per-key token bucket on a hand-driven clock."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from pydantic import SecretStr

from crossgraph.api.limits import RateLimiter
from crossgraph.keys import ApiKey, Scope


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def key(name: str, *scopes: Scope) -> ApiKey:
    return ApiKey(name=name, key=SecretStr(f"secret-{name}"), scopes=list(scopes))


def limiter(clock: Clock, read: int = 60, write: int = 120, admin: int = 0) -> RateLimiter:
    return RateLimiter({"read": read, "write": write, "admin": admin}, clock=clock)


def test_a_key_may_burst_a_minutes_worth_then_one_per_refill() -> None:
    clock = Clock()
    limits = limiter(clock, read=60)
    crm = key("crm", "read")
    assert all(limits.wait(crm) == 0 for _ in range(60))
    assert limits.wait(crm) == pytest.approx(1.0)  # 60 per minute: one more a second later
    clock.now += 0.5
    assert limits.wait(crm) == pytest.approx(0.5)  # a refused call spends nothing
    clock.now += 0.5
    assert limits.wait(crm) == 0
    clock.now += 3600
    assert all(limits.wait(crm) == 0 for _ in range(60))  # refilled to a minute's worth, no more
    assert limits.wait(crm) > 0


def test_each_key_has_its_own_bucket_at_the_rate_of_its_broadest_scope() -> None:
    clock = Clock()
    limits = limiter(clock, read=2, write=4, admin=0)
    reader, writer, ops = key("reader", "read"), key("writer", "read", "write"), key("ops", "admin")
    assert [limits.wait(reader) == 0 for _ in range(3)] == [True, True, False]
    assert [limits.wait(writer) == 0 for _ in range(5)] == [True] * 4 + [False]
    assert all(limits.wait(ops) == 0 for _ in range(10_000))  # 0 = unlimited


def test_a_batch_costs_per_account_at_most_a_full_bucket() -> None:
    clock = Clock()
    limits = limiter(clock, read=10)
    job = key("job", "read")
    assert limits.wait(job, cost=8) == 0
    assert limits.wait(job, cost=5, paid=1) == pytest.approx(2 * 6.0)  # 2 left, 4 more needed
    assert limits.wait(job, cost=2) == 0
    clock.now += 60
    assert limits.wait(job, cost=500, paid=1) == 0  # a full bucket passes any batch


def test_admit_raises_429_with_whole_seconds_to_wait() -> None:
    limits = limiter(Clock(), read=1)
    crm = key("crm", "read")
    limits.admit(crm)
    with pytest.raises(HTTPException) as refused:
        limits.admit(crm)
    assert refused.value.status_code == 429
    assert refused.value.headers == {"Retry-After": "60"}
    assert "'crm'" in refused.value.detail and "1 requests per minute (api_rate_read)" in refused.value.detail
