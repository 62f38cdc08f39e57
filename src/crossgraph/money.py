"""Money as it is shown: rounded to cents.

Sums of float revenues drift (703.82 becomes 703.8199999999999); every amount that leaves the
core (JSON, CSV, Markdown) goes through `cents` so the same amount reads the same everywhere.
"""

from __future__ import annotations


def cents(amount: float) -> float:
    """Rounded to 2 decimals; + 0.0 turns a rounded -0.0 into 0.0."""
    return round(float(amount), 2) + 0.0


def money_text(amount: float) -> str:
    """Markdown and CLI text: 12,345.60."""
    return f"{cents(amount):,.2f}"
