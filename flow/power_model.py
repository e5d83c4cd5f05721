"""Power from OpenSTA's per-cell figures and the toggles measured in gate-level simulation.

OpenSTA reports every cell's internal, switching and leakage power at ~0 and at 1 transition
per clock cycle on all its pins. Both grow linearly with the switching activity, so a cell
that toggled ``d`` times per cycle in simulation draws ``idle + d * (active - idle)`` (its
output's toggles stand for its inputs'; clock pins always switch twice per cycle). Leakage is
the idle figure.
"""

from __future__ import annotations

import re
from collections.abc import Container
from pathlib import Path

_NUMBER = r"([-+0-9.eE]+)"
_ROW = re.compile(rf"^\s*{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+(\S+)\s*$", re.MULTILINE)
COMPONENTS = ("internal", "switching", "leakage")


def read_cells(report: Path, leaves: Container[str]) -> dict[str, tuple[float, float, float]]:
    """Cell -> (internal, switching, leakage) watts, from ``report_power -instances``, for
    the cells named in ``leaves`` (the report also sums up module instances)."""
    return {
        m.group(5): (float(m.group(1)), float(m.group(2)), float(m.group(3)))
        for m in _ROW.finditer(report.read_text())
        if m.group(5) in leaves
    }


def scale_internal(
    cells: dict[str, tuple[float, float, float]], factors: dict[str, float]
) -> dict[str, tuple[float, float, float]]:
    """The same figures with each cell's internal power multiplied by its factor."""
    return {c: (i * factors.get(c, 1.0), s, leak) for c, (i, s, leak) in cells.items()}


def combine(
    active: dict[str, tuple[float, float, float]],
    idle: dict[str, tuple[float, float, float]],
    toggles: dict[str, float],
    groups: dict[str, str],
    clocks: dict[str, float] | None = None,
    gated_clocks: dict[str, float] | None = None,
) -> dict[str, dict[str, float]]:
    """Watts per group and component, and in ``total``; ``groups`` maps each cell to its
    group (cells it does not name count in ``total`` only).

    OpenSTA charges clock nets at the full clock rate even behind a clock gate held off.
    ``clocks`` gives a flip-flop's clock edges per cycle: its idle internal power, its clock
    pin's, counts in that proportion. ``gated_clocks`` gives a clock gate's output edges per
    cycle: its idle switching power, that of the gated clock net it drives, counts so.
    """
    found: dict[str, dict[str, float]] = {"total": dict.fromkeys(COMPONENTS, 0.0)}
    clocks = clocks or {}
    gated_clocks = gated_clocks or {}
    for cell, (internal0, switching0, leakage0) in idle.items():
        internal1, switching1, _ = active[cell]
        d = toggles.get(cell, 0.0)
        figures = {
            "internal": internal0 * clocks.get(cell, 1.0) + d * (internal1 - internal0),
            "switching": switching0 * gated_clocks.get(cell, 1.0) + d * (switching1 - switching0),
            "leakage": leakage0,
        }
        for group in ("total", groups.get(cell)):
            if group is not None:
                into = found.setdefault(group, dict.fromkeys(COMPONENTS, 0.0))
                for name, value in figures.items():
                    into[name] += value
    for figures in found.values():
        figures["total"] = sum(figures[c] for c in COMPONENTS)
    return found
