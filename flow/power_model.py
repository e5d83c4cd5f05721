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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_NUMBER = r"([-+0-9.eE]+)"
_ROW = re.compile(rf"^\s*{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+(\S+)\s*$", re.MULTILINE)
COMPONENTS = ("internal", "switching", "leakage")


@dataclass(frozen=True)
class CellPower:
    """OpenSTA's figures per cell, rows in the order of ``names``: (internal, switching,
    leakage) watts at 1 (``active``) and ~0 (``idle``) transitions per cycle."""

    names: list[str]
    active: np.ndarray  # (cells, 3)
    idle: np.ndarray  # (cells, 3)

    @classmethod
    def of(
        cls,
        active: dict[str, tuple[float, float, float]],
        idle: dict[str, tuple[float, float, float]],
    ) -> CellPower:
        """The cells of ``idle``, each with its figures of both reports."""
        names = list(idle)
        return cls(names, np.array([active[n] for n in names]), np.array(list(idle.values())))

    def per_cell(self, values: dict[str, float], default: float) -> np.ndarray:
        """``values`` in row order, ``default`` for the cells it does not name."""
        return np.fromiter((values.get(n, default) for n in self.names), float, len(self.names))

    def scale_internal(self, factors: np.ndarray) -> CellPower:
        """The same figures with each row's internal power multiplied by its factor."""
        scale = np.stack([factors, np.ones_like(factors), np.ones_like(factors)], axis=1)
        return CellPower(self.names, self.active * scale, self.idle * scale)


def read_cells(report: Path, leaves: Container[str]) -> dict[str, tuple[float, float, float]]:
    """Cell -> (internal, switching, leakage) watts, from ``report_power -instances``, for
    the cells named in ``leaves`` (the report also sums up module instances)."""
    return {
        m.group(5): (float(m.group(1)), float(m.group(2)), float(m.group(3)))
        for m in _ROW.finditer(report.read_text())
        if m.group(5) in leaves
    }


def combine(
    cells: CellPower,
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
    d = cells.per_cell(toggles, 0.0)
    idle, delta = cells.idle, cells.active - cells.idle
    figures = np.stack(
        [
            idle[:, 0] * cells.per_cell(clocks or {}, 1.0) + d * delta[:, 0],
            idle[:, 1] * cells.per_cell(gated_clocks or {}, 1.0) + d * delta[:, 1],
            idle[:, 2],
        ],
        axis=1,
    )
    found = {"total": _components(figures.sum(axis=0))}
    names = sorted(set(groups.values()))
    code = {name: k for k, name in enumerate(names)}
    index = np.fromiter((code.get(groups.get(n), -1) for n in cells.names), int, len(figures))
    grouped = index >= 0
    sums = np.stack(
        [np.bincount(index[grouped], figures[grouped, c], len(names)) for c in range(3)], axis=1
    )
    found.update((name, _components(sums[k])) for k, name in enumerate(names))
    return found


def _components(watts: np.ndarray) -> dict[str, float]:
    found = {name: float(w) for name, w in zip(COMPONENTS, watts, strict=True)}
    return {**found, "total": sum(found.values())}
