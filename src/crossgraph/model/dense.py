"""How large a dense products x products matrix may get, and a memory check before allocating one.

EASE inverts a dense products x products Gram matrix; RP3beta (and item-kNN below its own
threshold) build a dense products x products block before keeping each product's top
neighbours. One such matrix takes 8 bytes x products^2 per float64 copy:

    products   one copy   EASE (2.5 copies: Gram, inverted in place, float32 weights)
    10,000     0.8 GB     2 GB
    20,000     3.2 GB     8 GB
    30,000     7.2 GB     18 GB
    100,000    80 GB      200 GB

Above `max_products` (CROSSGRAPH_DENSE_MAX_PRODUCTS, default 20,000: EASE's 8 GB fits a 16 GB
trainer with room for ALS and the scores, and it is the threshold the Spark engine used) EASE is
capped - in the blend, the baselines and the tuner: fitted on the `max_products` best-selling
products only (`top_products`), no score for the others - or, with `ease` "leave-out"
(CROSSGRAPH_DENSE_EASE), left out; RP3beta computes its neighbours in sparse row blocks
(model.rp3beta, the same lists). `check` refuses, before any dense matrix is
allocated, one that would take more than `memory_share` (CROSSGRAPH_DENSE_MEMORY_SHARE) of the
memory available now, naming both settings, instead of a MemoryError or the OOM killer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossgraph.errors import InvalidInput

DENSE_MAX_PRODUCTS = 20_000
DENSE_MEMORY_SHARE = 0.8  # the estimate is already the peak: 0.2 stays for the rest of the process
# What EASE does above max_products (CROSSGRAPH_DENSE_EASE): fitted on the best-selling
# max_products products ("cap"), or not fitted at all ("leave-out")
EASE_ABOVE = ("cap", "leave-out")


class NotEnoughMemory(InvalidInput):
    """A dense products x products matrix would not fit the configured share of free memory."""


@dataclass(frozen=True)
class DenseLimit:
    max_products: int = DENSE_MAX_PRODUCTS
    memory_share: float = DENSE_MEMORY_SHARE
    ease: str = "cap"  # above max_products: one of EASE_ABOVE

    def __post_init__(self) -> None:
        if self.max_products < 0:
            raise InvalidInput(f"dense max_products must be >= 0, got {self.max_products}")
        if not 0 < self.memory_share <= 1:
            raise InvalidInput(f"dense memory_share must be within (0, 1], got {self.memory_share}")
        if self.ease not in EASE_ABOVE:
            raise InvalidInput(f"dense ease must be one of {', '.join(EASE_ABOVE)}, got {self.ease!r}")

    def allows(self, products: int) -> bool:
        return products <= self.max_products

    def caps_ease(self, products: int) -> bool:
        """EASE is fitted on the best-selling max_products of `products` (a cap of 0 products
        leaves it out)."""
        return not self.allows(products) and self.ease == "cap" and self.max_products > 0

    def leaves_out_ease(self, products: int) -> bool:
        return not self.allows(products) and not self.caps_ease(products)

    def cap_reason(self, products: int) -> str:
        """'fitted on the 20,000 best-selling of 30,000 products (CROSSGRAPH_DENSE_MAX_PRODUCTS)'."""
        return (
            f"fitted on the {self.max_products:,} best-selling of {products:,} products "
            "(CROSSGRAPH_DENSE_MAX_PRODUCTS)"
        )

    def reason(self, products: int) -> str:
        """'30,000 products > 20,000 (CROSSGRAPH_DENSE_MAX_PRODUCTS)': why a component was left out."""
        return f"{products:,} products > {self.max_products:,} (CROSSGRAPH_DENSE_MAX_PRODUCTS)"

    def check(self, products: int, copies: float, what: str, available: int | None = None) -> None:
        """NotEnoughMemory when `copies` float64 products x products matrices (8 bytes x
        products^2 each) would take more than `memory_share` of the available memory
        (`available` bytes, default: available_memory(); unknown: no check)."""
        needed = 8.0 * products * products * copies
        free = available_memory() if available is None else available
        if free is None or needed <= self.memory_share * free:
            return
        raise NotEnoughMemory(
            f"{what} needs a dense {products:,} x {products:,} matrix: about {needed / 1e9:.1f} GB "
            f"({copies:g} x 8 bytes x products^2), more than {self.memory_share:.0%} "
            f"(CROSSGRAPH_DENSE_MEMORY_SHARE) of the {free / 1e9:.1f} GB available; lower "
            f"CROSSGRAPH_DENSE_MAX_PRODUCTS (now {self.max_products:,}) to cap it, leave it out or compute "
            "it sparsely, or train on a machine with more memory"
        )


def top_products(counts: npt.ArrayLike, n: int) -> npt.NDArray[np.intp]:
    """The n best-selling products, ascending: most accounts that bought each (`counts`, e.g.
    Interactions.product_counts()), ties to the smaller product index."""
    order = np.argsort(-np.asarray(counts, dtype=np.int64), kind="stable")[:n]
    return np.sort(order).astype(np.intp)


def available_memory() -> int | None:
    """Bytes this process may still allocate: the kernel's MemAvailable, bounded by the cgroup's
    limit minus its usage (a container); None where neither is readable (not Linux)."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
            found.append(max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return min(found) if found else None
