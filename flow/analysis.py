"""Timing and power figures of an analysed netlist, from the OpenSTA nodes' reports: the same
reading after synthesis, placement and routing, each labelled with its origin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from econflow.config import Config
from econflow.errors import ArtefactError
from econflow.flow import power_model
from econflow.flow.formats import liberty, netlist
from econflow.flow.formats.activity import CellActivity
from econflow.flow.results import CornerTiming, Power, PowerComponents, Timing
from econflow.pdk import Pdk


def read_json(path: Path) -> dict[str, Any]:
    """A figures file a node wrote."""
    if not path.is_file():
        raise ArtefactError(path, "missing: the analysis wrote no figures")
    return json.loads(path.read_text())


def timing(cfg: Config, pdk: Pdk, node: Path, origin: str) -> Timing:
    """Slack per corner and the achievable clock, from a timing node's figures."""
    figures = read_json(node / "reports" / "sta.json")
    period = 1000.0 / cfg.design.hardware.clock_mhz
    corners = {}
    for name, corner in figures["corners"].items():
        achievable = period - corner["wns_ns"]
        corners[name] = CornerTiming(
            **corner,
            meets=corner["wns_ns"] >= 0,
            achievable_period_ns=round(achievable, 3),
            fmax_mhz=round(1000.0 / achievable, 2),
        )
        verdict = "met" if corner["wns_ns"] >= 0 else "NOT met"
        print(
            f"  {name}: WNS {corner['wns_ns']:.3f} ns, TNS {corner['tns_ns']:.3f} ns -> "
            f"{cfg.design.hardware.clock_mhz:g} MHz {verdict}; "
            f"achievable {1000 / achievable:.1f} MHz"
        )
    return Timing(
        origin=origin,
        clock_period_ns=round(period, 4),
        timing_corner=pdk.config.corners.timing,
        corners=corners,
        reports=str(node / "reports"),
    )


def power(
    cfg: Config,
    pdk: Pdk,
    node: Path,
    analysed: tuple[Path, Path],
    cells_activity: CellActivity,
    origin: str,
) -> Power:
    """Power and energy per inference from a power node's per-cell figures, each cell
    weighted by its toggles and each flip-flop by its clock edges. ``analysed`` is the
    netlist the node read (the activity is keyed by its instance names) and the liberty."""
    figures = read_json(node / "reports" / "sta.json")["reports"]
    gate_netlist, lib = analysed
    cells = liberty.cells(lib)
    instances = netlist.read(gate_netlist, cfg.design.design.top).instances
    sequential = {i.name for i in instances if cells[i.cell].sequential}
    groups = power_model.combine(
        power_model.read_cells(Path(figures["active"]["file"])),
        power_model.read_cells(Path(figures["idle"]["file"])),
        cells_activity.toggles,
        sequential,
        cells_activity.clocks,
    )
    total = groups["total"]
    energy_nj = total["total"] / (cfg.design.hardware.clock_mhz * 1e6) * 1e9
    print(
        f"  power {total['total'] * 1e3:.3f} mW (internal {total['internal'] * 1e3:.3f}, "
        f"switching {total['switching'] * 1e3:.3f}, leakage {total['leakage'] * 1e6:.3f} uW); "
        f"{energy_nj:.4f} nJ per inference"
    )
    milliwatts = {
        group: PowerComponents(
            **{name: _significant(value * 1e3) for name, value in values.items()}
        )
        for group, values in groups.items()
    }
    return Power(
        origin=origin,
        corner=pdk.config.corners.power,
        internal_mw=milliwatts["total"].internal,
        switching_mw=milliwatts["total"].switching,
        leakage_mw=milliwatts["total"].leakage,
        total_mw=milliwatts["total"].total,
        groups_mw=milliwatts,
        energy_per_inference_nj=_significant(energy_nj),
        inferences_per_s=cfg.design.hardware.clock_mhz * 1e6,
        reports={name: r["file"] for name, r in figures.items()},
    )


def _significant(value: float) -> float:
    """Six significant digits: leakage is nanowatts beside milliwatts of total power."""
    return float(f"{value:.6g}")
