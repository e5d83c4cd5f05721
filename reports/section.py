"""A report section: rows of figures, each naming where it comes from, and pictures; and the
units figures are written in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Section:
    title: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # label, value, origin
    figures: list[tuple[str, str]] = field(default_factory=list)  # caption, relative file
    note: str = ""

    def add(self, label: str, value: Any, origin: str) -> None:
        self.rows.append((label, _fmt(value), origin))

    def without(self, step: str) -> Section:
        """The section when the step it shows has no figures that hold for the design file."""
        self.note = f"No figures of the {step} step for this design file (see Provenance)."
        return self


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def power(mw: float) -> str:
    """A power in the unit that keeps it readable: mW, µW, nW or pW (below, 0)."""
    for scale, unit in ((1.0, "mW"), (1e-3, "µW"), (1e-6, "nW"), (1e-9, "pW")):
        if abs(mw) >= scale:
            return f"{mw / scale:.4g} {unit}"
    return "0 mW"


def drc(by_rule: dict[str, int], violations: int) -> str:
    """A DRC count with the rules hit most."""
    worst = sorted(((n, rule) for rule, n in by_rule.items() if n), reverse=True)[:4]
    detail = ", ".join(f"{rule} {n}" for n, rule in worst)
    return f"{violations:,}" + (f" ({detail})" if detail else "")


def area(um2: float) -> str:
    """An area in mm² with µm² beside it."""
    return f"{um2 / 1e6:.4f} mm² ({um2:,.0f} µm²)"
