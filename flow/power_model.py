"""Power from OpenSTA's per-cell figures and the toggles measured in gate-level simulation.

OpenSTA reports every cell's internal, switching and leakage power at ~0 and at 1 transition
per clock cycle on all its pins. Both grow linearly with the switching activity, so a cell
that toggled ``d`` times per cycle in simulation draws ``idle + d * (active - idle)`` (its
output's toggles stand for its inputs'; clock pins always switch twice per cycle). Leakage is
the idle figure.
"""

from __future__ import annotations

import re
from pathlib import Path

_NUMBER = r"([-+0-9.eE]+)"
_ROW = re.compile(rf"^\s*{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+(\S+)\s*$", re.MULTILINE)
COMPONENTS = ("internal", "switching", "leakage")


def read_cells(report: Path) -> dict[str, tuple[float, float, float]]:
    """Cell -> (internal, switching, leakage) watts, from ``report_power -instances``."""
    return {
        m.group(5): (float(m.group(1)), float(m.group(2)), float(m.group(3)))
        for m in _ROW.finditer(report.read_text())
    }


def combine(
    active: dict[str, tuple[float, float, float]],
    idle: dict[str, tuple[float, float, float]],
    toggles: dict[str, float],
    sequential: set[str],
    clocks: dict[str, float] | None = None,
) -> dict[str, dict[str, float]]:
    """Watts per group (``sequential``, ``combinational``, ``total``) and component.

    ``clocks`` gives a flip-flop's clock edges per cycle: its idle internal power, which is
    its clock pin's (OpenSTA charges it at the full clock rate even behind a clock gate held
    off), counts in that proportion.
    """
    groups = {g: dict.fromkeys(COMPONENTS, 0.0) for g in ("sequential", "combinational", "total")}
    clocks = clocks or {}
    for cell, (internal0, switching0, leakage0) in idle.items():
        internal1, switching1, _ = active[cell]
        d = toggles.get(cell, 0.0)
        clocked = clocks.get(cell, 1.0)
        figures = {
            "internal": internal0 * clocked + d * (internal1 - internal0),
            "switching": switching0 + d * (switching1 - switching0),
            "leakage": leakage0,
        }
        group = "sequential" if cell in sequential else "combinational"
        for name, value in figures.items():
            groups[group][name] += value
            groups["total"][name] += value
    for figures in groups.values():
        figures["total"] = sum(figures[c] for c in COMPONENTS)
    return groups
