"""The product catalogue: machine families with their parts, consumables, services and training.

A family is one series of one process ("Press X series"): one to three model sizes, each as
a standard and a Pro machine. Everything an account buys later hangs off a family, which is
what gives the purchase matrix its collaborative structure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from crossgraph.data.demo.common import (
    BoolArray,
    FloatArray,
    IntArray,
    cumulative_by_group,
    segment_starts,
)
from crossgraph.data.demo.vocab import (
    GENERIC_ACCESSORIES,
    GENERIC_CONSUMABLES,
    GENERIC_PARTS,
    PROCESSES,
    REVISIONS,
    SERVICE_LEVELS,
    SOFTWARE_SUITES,
    Process,
)
from crossgraph.errors import InvalidInput

DEFAULT_PRODUCTS = 240
MIN_PRODUCTS = 20
MAX_FAMILIES = len(PROCESSES) * 3
MODEL_NUMBERS = (100, 200, 400)
SERVICE_SHARE = (0.03, 0.055, 0.09)  # yearly service price as a share of the machine price


@dataclass(frozen=True)
class Richness:
    """How much of the structure a catalogue of a given size can afford."""

    max_models: int
    trainings: int
    accessories: int
    suites: int


RICHNESS = (Richness(3, 2, 3, 3), Richness(2, 2, 2, 3), Richness(2, 1, 1, 2), Richness(1, 1, 0, 1))


@dataclass(frozen=True)
class Family:
    process: Process
    series: str
    code: str  # "PRX": names the family in the skus of its parts, services and serials
    label: str  # "Press X series"


@dataclass
class Catalogue:
    """Flat product columns plus index structures the behaviour model samples from."""

    sku: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    tier: list[str] = field(default_factory=list)
    fits: list[str] = field(default_factory=list)
    price_list: list[float] = field(default_factory=list)
    family_list: list[int] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    upgrades: list[tuple[int, int]] = field(default_factory=list)
    # model = one size of one family; machines are its standard and Pro products
    model_family: list[int] = field(default_factory=list)
    model_rank: list[int] = field(default_factory=list)
    model_std: list[int] = field(default_factory=list)
    model_pro: list[int] = field(default_factory=list)
    model_capacity: list[int] = field(default_factory=list)
    family_models: list[list[int]] = field(default_factory=list)
    family_consumables: list[list[int]] = field(default_factory=list)
    family_accessories: list[list[int]] = field(default_factory=list)
    model_parts: list[list[int]] = field(default_factory=list)
    service: list[tuple[int, int, int]] = field(default_factory=list)
    training: list[tuple[int, int]] = field(default_factory=list)  # operator, maintenance (-1)
    software: list[tuple[int, int]] = field(default_factory=list)  # basic, pro
    # filled by finish()
    price: FloatArray = field(default_factory=lambda: np.zeros(0))
    weight: FloatArray = field(default_factory=lambda: np.zeros(0))
    active: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    family: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.sku)

    def add(
        self,
        sku: str,
        name: str,
        category: str,
        kind: str,
        price: float,
        *,
        tier: str = "",
        fits: str = "",
        family: int = -1,
    ) -> int:
        self.sku.append(sku)
        self.name.append(name)
        self.category.append(category)
        self.kind.append(kind)
        self.tier.append(tier)
        self.fits.append(fits)
        self.price_list.append(round(price, 2))
        self.family_list.append(family)
        return len(self.sku) - 1

    def machine_skus(self, models: list[int]) -> str:
        return ";".join(self.sku[p] for m in models for p in (self.model_std[m], self.model_pro[m]))


def build_catalogue(rng: np.random.Generator, n_products: int) -> Catalogue:
    """Exactly `n_products` products (at least MIN_PRODUCTS)."""
    if n_products < MIN_PRODUCTS:
        raise InvalidInput(f"products={n_products} is too small: the demo needs at least {MIN_PRODUCTS}")
    richness, n_families, models = _plan(rng, n_products)
    cat = Catalogue()
    for f in range(n_families):
        process = PROCESSES[f % len(PROCESSES)]
        series = process.series[f // len(PROCESSES)]
        cat.families.append(
            Family(process, series, f"{process.code}{series}", f"{process.name} {series} series")
        )
        _add_family_core(rng, cat, f, models[f], richness)
    fixed = len(cat) + 2 * richness.suites
    rest = n_products - fixed
    for f in range(n_families):
        share = rest // n_families + (1 if f < rest % n_families else 0)
        n_cons = max(1, round(0.3 * share))
        _add_consumables(rng, cat, f, n_cons)
        _add_parts(rng, cat, f, share - n_cons)
    _add_software(cat, richness.suites)
    _finish(rng, cat)
    assert len(cat) == n_products
    return cat


def _plan(rng: np.random.Generator, n_products: int) -> tuple[Richness, int, list[int]]:
    """Pick the richest structure whose fixed products leave >= 3 parts/consumables a family."""
    target = min(MAX_FAMILIES, max(2, int(0.55 * math.sqrt(n_products) + 0.5)))
    draws = rng.random(MAX_FAMILIES)
    for richness in RICHNESS:
        for n_families in range(target, 1, -1):
            models = [
                min(richness.max_models, 2 + int(draws[f] < 0.5)) if richness.max_models > 1 else 1
                for f in range(n_families)
            ]
            per_family = [2 * m + 3 + richness.trainings + richness.accessories for m in models]
            rest = n_products - sum(per_family) - 2 * richness.suites
            if rest >= 3 * n_families:
                return richness, n_families, models
    raise AssertionError("MIN_PRODUCTS always fits the leanest plan")  # pragma: no cover


def _add_family_core(
    rng: np.random.Generator, cat: Catalogue, f: int, n_models: int, richness: Richness
) -> None:
    fam = cat.families[f]
    process = fam.process
    lo, hi = process.price
    first_model = len(cat.model_family)
    for rank in range(n_models):
        number = MODEL_NUMBERS[rank]
        position = rank / (n_models - 1) if n_models > 1 else 0.5
        base = lo * (hi / lo) ** position * float(rng.uniform(0.92, 1.08))
        std_price = min(460_000, round(base / 100) * 100)
        pro_price = min(500_000, round(std_price * float(rng.uniform(1.22, 1.4)) / 100) * 100)
        model_name = f"{process.name} {fam.series}{number}"
        std = cat.add(
            f"{process.code}-{fam.series}{number}",
            model_name,
            process.category,
            "machine",
            std_price,
            tier="standard",
            family=f,
        )
        pro = cat.add(
            f"{process.code}-{fam.series}{number}-PRO",
            f"{model_name} Pro",
            process.category,
            "machine",
            pro_price,
            tier="pro",
            family=f,
        )
        cat.upgrades.append((std, pro))
        cat.model_family.append(f)
        cat.model_rank.append(rank)
        cat.model_std.append(std)
        cat.model_pro.append(pro)
        cat.model_capacity.append(process.capacities[rank if n_models > 1 else 1])
        cat.model_parts.append([])
    models = list(range(first_model, first_model + n_models))
    cat.family_models.append(models)
    fits = cat.machine_skus(models)
    mean_price = float(np.mean([cat.price_list[cat.model_std[m]] for m in models]))

    levels = []
    for level, share in zip(SERVICE_LEVELS, SERVICE_SHARE, strict=True):
        levels.append(
            cat.add(
                f"SV-{fam.code}-{level[:3].upper()}",
                f"{fam.label} Service {level.title()}",
                "Service",
                "service",
                round(mean_price * share, -1),
                tier=level,
                fits=fits,
                family=f,
            )
        )
    cat.upgrades += [(levels[0], levels[1]), (levels[1], levels[2])]
    cat.service.append((levels[0], levels[1], levels[2]))

    operator = cat.add(
        f"TR-{fam.code}-OP",
        f"Operator training {fam.label}",
        "Training",
        "training",
        round(float(rng.uniform(900, 2400)), -1),
        fits=fits,
        family=f,
    )
    maintenance = -1
    if richness.trainings > 1:
        maintenance = cat.add(
            f"TR-{fam.code}-MT",
            f"Maintenance training {fam.label}",
            "Training",
            "training",
            round(float(rng.uniform(1500, 3800)), -1),
            fits=fits,
            family=f,
        )
    cat.training.append((operator, maintenance))

    names = list(process.accessories) + list(GENERIC_ACCESSORIES)
    accessories = []
    for j in range(richness.accessories):
        price = float(np.exp(rng.uniform(math.log(500), math.log(20_000))))
        accessories.append(
            cat.add(
                f"AC-{fam.code}-{j + 1:02d}",
                f"{names[j % len(names)]} ({fam.label})",
                "Accessories",
                "accessory",
                round(price, -1),
                fits=fits,
                family=f,
            )
        )
    cat.family_accessories.append(accessories)


def _add_consumables(rng: np.random.Generator, cat: Catalogue, f: int, count: int) -> None:
    fam = cat.families[f]
    names = list(fam.process.consumables) + list(GENERIC_CONSUMABLES)
    fits = cat.machine_skus(cat.family_models[f])
    items = []
    for j in range(count):
        name = names[j % len(names)] + _revision(j // len(names))
        price = float(np.exp(rng.uniform(math.log(10), math.log(500))))
        items.append(
            cat.add(
                f"CO-{fam.code}-{j + 1:03d}",
                f"{name} for {fam.label}",
                "Consumables",
                "consumable",
                round(price, 2),
                fits=fits,
                family=f,
            )
        )
    cat.family_consumables.append(items)


def _add_parts(rng: np.random.Generator, cat: Catalogue, f: int, count: int) -> None:
    """The first part of a family fits every model; the others mostly one model size."""
    fam = cat.families[f]
    models = cat.family_models[f]
    names = list(fam.process.parts) + list(GENERIC_PARTS)
    for j in range(count):
        universal = j == 0 or len(models) == 1 or rng.random() < 0.25
        fitted = models if universal else [models[int(rng.integers(len(models)))]]
        name = names[j % len(names)] + _revision(j // len(names))
        where = fam.label if universal else cat.name[cat.model_std[fitted[0]]]
        price = float(np.exp(rng.uniform(math.log(50), math.log(5000))))
        part = cat.add(
            f"SP-{fam.code}-{j + 1:04d}",
            f"{name} for {where}",
            "Spare parts",
            "part",
            round(price, 2),
            fits=cat.machine_skus(fitted),
            family=f,
        )
        for m in fitted:
            cat.model_parts[m].append(part)


def _revision(round_no: int) -> str:
    if round_no < len(REVISIONS):
        return REVISIONS[round_no]
    return f" rev. {round_no}"


def _add_software(cat: Catalogue, suites: int) -> None:
    for name, code in SOFTWARE_SUITES[:suites]:
        basic = cat.add(f"SW-{code}-B", f"{name} Basic", "Software", "software", 4800.0, tier="basic")
        pro = cat.add(f"SW-{code}-P", f"{name} Pro", "Software", "software", 11_500.0, tier="pro")
        cat.upgrades.append((basic, pro))
        cat.software.append((basic, pro))


def _finish(rng: np.random.Generator, cat: Catalogue) -> None:
    """Arrays, popularity weights and a few discontinued (inactive) parts and consumables."""
    n = len(cat)
    cat.price = np.asarray(cat.price_list, dtype=np.float64)
    cat.family = np.asarray(cat.family_list, dtype=np.int64)
    cat.weight = np.exp(rng.normal(0.0, 0.9, n))
    active = np.ones(n, dtype=np.bool_)
    kinds = np.asarray(cat.kind)
    keep = {items[0] for items in cat.family_consumables} | {parts[0] for parts in cat.model_parts if parts}
    candidates = np.flatnonzero(np.isin(kinds, ("part", "consumable", "accessory")))
    candidates = np.asarray([c for c in candidates.tolist() if c not in keep], dtype=np.int64)
    if len(candidates) >= 10:
        drop = rng.choice(candidates, size=max(1, round(0.04 * len(candidates))), replace=False)
        active[drop] = False
    cat.active = active


def csr(lists: list[list[int]], weight: FloatArray) -> tuple[IntArray, IntArray, FloatArray]:
    """(ptr, items, cumulative weights) of non-empty item lists, for group_sample."""
    ptr = segment_starts(np.asarray([len(x) for x in lists], dtype=np.int64))
    items = np.asarray([i for x in lists for i in x], dtype=np.int64)
    return ptr, items, cumulative_by_group(weight[items], ptr)
