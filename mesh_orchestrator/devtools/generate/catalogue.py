"""The item catalogue, derived from the seed alone: inventory writes it, sales sells from it.

Sales must only order SKUs that inventory lists, without reading inventory's files (domains can
be generated separately), so both call :func:`catalogue` with the same seed and scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mesh_orchestrator.devtools.generate.base import rng_for
from mesh_orchestrator.devtools.generate.formats import START

ITEMS_PER_SCALE = 200
MAX_ITEMS = 20_000

#: category -> (adjectives, nouns as (name, unit of measure, typical unit cost in EUR)).
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str, float], ...]]] = {
    "Electronics": (
        ("Wireless", "Compact", "Smart", "Portable", "Noise-Cancelling", "Fast", "Slim", "Rugged"),
        (
            ("Headphones", "each", 35.0),
            ("Charger", "each", 9.0),
            ("Speaker", "each", 28.0),
            ("USB Cable", "each", 3.5),
            ("Keyboard", "each", 22.0),
            ("Mouse", "each", 11.0),
            ("Webcam", "each", 30.0),
            ("Power Bank", "each", 16.0),
            ("Speaker Wire", "metre", 0.9),
        ),
    ),
    "Kitchen": (
        ("Stainless", "Non-Stick", "Ceramic", "Bamboo", "Classic", "Professional", "Glass"),
        (
            ("Frying Pan", "each", 18.0),
            ("Kettle", "each", 21.0),
            ("Knife Set", "box", 32.0),
            ("Cutting Board", "each", 8.0),
            ("Mixing Bowl", "each", 6.5),
            ("Toaster", "each", 24.0),
            ("Olive Oil", "litre", 6.0),
            ("Coffee Beans", "kg", 11.0),
            ("Tea Towels", "box", 5.0),
        ),
    ),
    "Garden": (
        ("Heavy-Duty", "Organic", "Weatherproof", "Expandable", "Classic", "Premium"),
        (
            ("Garden Hose", "metre", 1.2),
            ("Potting Soil", "kg", 0.6),
            ("Fertiliser", "kg", 1.8),
            ("Rake", "each", 12.0),
            ("Shovel", "each", 15.0),
            ("Planter", "each", 9.0),
            ("Flower Seeds", "box", 2.5),
            ("Pruning Shears", "each", 13.0),
            ("Lawn Feed", "litre", 4.0),
        ),
    ),
    "Tools": (
        ("Cordless", "Precision", "Heavy-Duty", "Magnetic", "Adjustable", "Professional"),
        (
            ("Drill", "each", 55.0),
            ("Screwdriver Set", "box", 14.0),
            ("Hammer", "each", 9.5),
            ("Wood Screws", "box", 4.0),
            ("Copper Wire", "metre", 1.5),
            ("Tape Measure", "each", 5.0),
            ("Spirit Level", "each", 8.0),
            ("Wrench", "each", 10.0),
            ("Wood Glue", "litre", 7.0),
        ),
    ),
    "Office": (
        ("Recycled", "Ergonomic", "Premium", "Compact", "Classic", "Colourful"),
        (
            ("Copy Paper", "box", 18.0),
            ("Stapler", "each", 6.0),
            ("Ballpoint Pens", "box", 4.5),
            ("Notebook", "each", 2.5),
            ("Desk Lamp", "each", 19.0),
            ("Binder", "each", 2.0),
            ("Sticky Notes", "box", 3.0),
            ("Printer Ink", "each", 14.0),
            ("Desk Organiser", "each", 9.0),
        ),
    ),
    "Toys": (
        ("Wooden", "Magnetic", "Classic", "Educational", "Giant", "Mini", "Glow-in-the-Dark"),
        (
            ("Puzzle", "box", 8.0),
            ("Building Blocks", "box", 15.0),
            ("Board Game", "box", 17.0),
            ("Kite", "each", 7.0),
            ("Toy Car", "each", 5.0),
            ("Plush Bear", "each", 9.0),
            ("Modelling Clay", "kg", 6.0),
            ("Train Set", "box", 29.0),
            ("Skipping Rope", "each", 3.0),
        ),
    ),
    "Sports": (
        ("Lightweight", "Pro", "Training", "Anti-Slip", "Insulated", "Reflective"),
        (
            ("Yoga Mat", "each", 12.0),
            ("Dumbbell", "each", 14.0),
            ("Football", "each", 11.0),
            ("Tennis Racket", "each", 38.0),
            ("Water Bottle", "each", 6.0),
            ("Climbing Rope", "metre", 2.2),
            ("Resistance Band", "each", 4.5),
            ("Running Cap", "each", 7.0),
            ("Protein Powder", "kg", 16.0),
        ),
    ),
    "Bath": (
        ("Soft", "Organic", "Luxury", "Fresh", "Hypoallergenic", "Eucalyptus"),
        (
            ("Towel", "each", 7.0),
            ("Shampoo", "litre", 5.5),
            ("Soap Bars", "box", 4.0),
            ("Bath Mat", "each", 9.0),
            ("Shower Gel", "litre", 4.5),
            ("Toothbrush", "each", 1.5),
            ("Bath Salts", "kg", 3.5),
            ("Shower Curtain", "each", 8.5),
            ("Cotton Pads", "box", 1.8),
        ),
    ),
}
VARIANTS = ("", "", "", " Pro", " Mini", " XL", " Plus", " 2-Pack", " Eco")


@dataclass(frozen=True)
class Catalogue:
    """Item attributes as parallel arrays; item ``i`` has SKU ``SKU-{i+1:05d}``."""

    numbers: np.ndarray  # SKU numbers, 1..n
    names: list[str]
    categories: list[str]
    units: list[str]
    unit_cost_cents: np.ndarray
    list_price_cents: np.ndarray
    updated_at: np.ndarray  # epoch seconds
    popularity: np.ndarray  # selling weights, sum to 1

    def __len__(self) -> int:
        return len(self.numbers)


def item_count(scale: int) -> int:
    return min(ITEMS_PER_SCALE * scale, MAX_ITEMS)


@lru_cache(maxsize=8)
def catalogue(seed: int, scale: int) -> Catalogue:
    """The catalogue for a seed and scale (cached: inventory and sales share it)."""
    rng = rng_for(seed, "catalogue")
    n = item_count(scale)
    names = list(CATEGORIES)
    cat_idx = rng.choice(len(names), size=n, p=_category_weights(len(names)))
    noun_idx = rng.integers(0, 1 << 30, size=n)
    adj_idx = rng.integers(0, 1 << 30, size=n)
    variant_idx = rng.integers(0, len(VARIANTS), size=n)
    item_names, categories, units, base = [], [], [], np.empty(n)
    for i in range(n):
        category = names[cat_idx[i]]
        adjectives, nouns = CATEGORIES[category]
        noun, unit, cost = nouns[noun_idx[i] % len(nouns)]
        item_names.append(f"{adjectives[adj_idx[i] % len(adjectives)]} {noun}{VARIANTS[variant_idx[i]]}")
        categories.append(category)
        units.append(unit)
        base[i] = cost
    cost_cents = np.maximum(np.round(base * rng.lognormal(0.0, 0.35, n) * 100), 20).astype(np.int64)
    margin = rng.uniform(0.20, 0.80, n)
    price_cents = np.maximum(np.ceil(cost_cents * (1 + margin)), cost_cents + 1).astype(np.int64)
    updated = START - rng.integers(1, 180 * 86_400, n)  # last changed in the half-year before
    ranks = rng.permutation(n)
    weights = 1.0 / (ranks + 1.0) ** 0.7
    return Catalogue(
        numbers=np.arange(1, n + 1),
        names=item_names,
        categories=categories,
        units=units,
        unit_cost_cents=cost_cents,
        list_price_cents=price_cents,
        updated_at=updated,
        popularity=weights / weights.sum(),
    )


def _category_weights(k: int) -> np.ndarray:
    """Some categories are bigger than others."""
    weights = np.linspace(1.6, 0.6, k)
    return weights / weights.sum()
