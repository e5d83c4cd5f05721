"""A report section: rows of figures, each naming where it comes from, and pictures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Section:
    title: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # label, value, origin
    figures: list[tuple[str, str]] = field(default_factory=list)  # caption, file
    note: str = ""

    def add(self, label: str, value: Any, origin: str) -> None:
        self.rows.append((label, _fmt(value), origin))


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
