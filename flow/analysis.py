"""Timing and power figures of an analysed netlist, from the OpenSTA nodes' reports: the same
reading after synthesis, placement and routing, each labelled with its origin."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from econflow.config import Config
from econflow.errors import ArtefactError
from econflow.flow import blocks, internal_power, power_model
from econflow.flow.formats import liberty, netlist
from econflow.flow.formats.activity import CellActivity
from econflow.flow.results import CornerTiming, Power, PowerComponents, Timing, WorstPath
from econflow.pdk import Pdk
from econflow.rtl import naming
from econflow.rtl.artefacts import RtlDesign


def read_json(path: Path) -> dict[str, Any]:
    """A figures file a node wrote."""
    if not path.is_file():
        raise ArtefactError(path, "missing: the analysis wrote no figures")
    return json.loads(path.read_text())


def timing(cfg: Config, pdk: Pdk, node: Path, origin: str, design: RtlDesign) -> Timing:
    """Slack per corner, the achievable clock and the worst path with its pipeline stage,
    from a timing node's figures."""
    figures = read_json(node / "reports" / "sta.json")
    period = 1000.0 / cfg.design.hardware.clock_mhz
    corners = {}
    for name, corner in figures["corners"].items():
        achievable = period - corner["wns_ns"]
        path = corner["worst_path"]
        stage = _stage(locate(path["start"], design), locate(path["end"], design), design)
        corners[name] = CornerTiming(
            **{**corner, "worst_path": WorstPath(**path, stage=stage)},
            meets=corner["wns_ns"] >= 0,
            achievable_period_ns=round(achievable, 3),
            fmax_mhz=round(1000.0 / achievable, 2),
        )
        verdict = "met" if corner["wns_ns"] >= 0 else "NOT met"
        print(
            f"  {name}: WNS {corner['wns_ns']:.3f} ns, TNS {corner['tns_ns']:.3f} ns -> "
            f"{cfg.design.hardware.clock_mhz:g} MHz {verdict}; "
            f"achievable {1000 / achievable:.1f} MHz; worst path {stage}"
        )
        if "clock" in corner:
            clock = corner["clock"]
            print(
                f"  {name}: clock skew {clock['skew_ns']:.4f} ns, insertion delay "
                f"{clock['capture_latency_ns']:.4f} / {clock['launch_latency_ns']:.4f} ns "
                "(capture / launch)"
            )
            if clock.get("flip_flops"):
                print(
                    f"  {name}: clock insertion delay over {clock['flip_flops']} flip-flops "
                    f"{clock['flip_flop_latency_min_ns']:.4f} to "
                    f"{clock['flip_flop_latency_max_ns']:.4f} ns"
                )
    return Timing(
        origin=origin,
        clock_period_ns=round(period, 4),
        latency_cycles=design.latency_cycles,
        timing_corner=pdk.config.corners.timing,
        corners=corners,
        reports=str(node / "reports"),
    )


_BIT = re.compile(r"\[\d+\]$")
_SUM = re.compile(r"u_(\w+)_\d+")  # a sum module's instance (econflow.rtl.naming)
_ACCUMULATOR = "acc"  # a sum module's name for its tree's last level


def locate(name: str, design: RtlDesign) -> str:
    """The pipeline point whose register a path's start or end is (by the register's name,
    which synthesis keeps), ``inputs`` for the input ports, ``configuration`` for a weight,
    ``configuration read`` for the read-data register, the registered last tree level of a
    layer for a flip-flop named after a sum's accumulator; ``?`` where synthesis renamed the
    register."""
    parts = [_BIT.sub("", part) for part in _BIT.sub("", name.split("$")[0]).split("/")]
    points = dict(enumerate(design.description.points, start=1))
    local = {
        r.instance.rsplit("/", 1)[-1].removeprefix(naming.REGISTER_PREFIX): r
        for r in design.registers
    }
    for part in parts:
        register = local.get(part.removeprefix(naming.REGISTER_PREFIX))
        if register is not None and register.kind == "pipeline":
            index = int(part.rsplit("_s", 1)[1])
            return points.get(index, f"point {index}")
        if register is not None and register.kind == "config":
            return "configuration"
    base = parts[0]
    if base in ("charges", "in_valid", "cfg_we", "cfg_addr", "cfg_wdata"):
        return "inputs"
    if base in ("latent", "out_valid", "module_sum"):
        return "out"
    if base == "cfg_rdata" or base == naming.instance("cfg_rdata"):
        return "configuration read"
    layer = _SUM.fullmatch(base)
    if layer and parts[-1] == _ACCUMULATOR:
        levels = [p for p in points.values() if p.startswith(f"{layer[1]}_t")]
        if levels and levels[-1] in design.description.pipeline:
            return levels[-1]
    return "?"


def _stage(start: str, end: str, design: RtlDesign) -> str:
    """``start -> end``; an end synthesis renamed is the next register a path from ``start``
    can reach: the next registered point."""
    registered = design.description.pipeline
    if end == "?" and (start == "inputs" or start in registered):
        following = registered[registered.index(start) + 1 :] if start in registered else registered
        end = following[0] if following else end
    return f"{start} -> {end}"


def power(
    cfg: Config,
    pdk: Pdk,
    node: Path,
    analysed: tuple[Path, Path],
    activities: list[CellActivity],
    origin: str,
    design: RtlDesign,
) -> Power:
    """Power and energy per inference from a power node's per-cell figures, each cell
    weighted by its toggles, each flip-flop by its clock edges and each clock gate's output
    net by the gated clock's edges, in total, for sequential
    and combinational cells and per block of the encoder. ``analysed`` is the netlist the
    node read (the activity is keyed by its instance names) and the liberty. ``activities``
    are the whole window's, then any parts of it (the halves), whose totals show how much
    the figure depends on the vectors."""
    figures = read_json(node / "reports" / "sta.json")["reports"]
    gate_netlist, lib = analysed
    cells = liberty.cells(lib)
    gates = netlist.read(gate_netlist, cfg.design.design.top)
    kinds = {
        i.name: "sequential" if cells[i.cell].sequential else "combinational"
        for i in gates.instances
    }
    gate = pdk.config.cells.clock_gate
    by_block = blocks.attribute(gates, cells, design, gate.cell if gate else None)
    of = {i.name: i.cell for i in gates.instances}
    # report_power lists the sum modules' instances besides their cells: leaves only
    figures_w = power_model.CellPower.of(
        power_model.read_cells(Path(figures["active"]["file"]), of),
        power_model.read_cells(Path(figures["idle"]["file"]), of),
    )
    gates_of = [i.name for i in gates.instances if gate is not None and i.cell == gate.cell]

    def combine(measured: CellActivity, groups: dict[str, str]) -> dict[str, dict[str, float]]:
        toggles = measured.toggles
        gated = {name: toggles.get(name, 0.0) / 2 for name in gates_of}  # rising edges
        return power_model.combine(figures_w, toggles, groups, measured.clocks, gated)

    whole, *parts = activities
    reported = combine(whole, {})["total"]["internal"]
    ratios = _internal_ratios(lib, {i.cell for i in gates.instances})
    figures_w = figures_w.scale_internal(1 / np.array([ratios[of[n]] for n in figures_w.names]))
    groups = combine(whole, kinds)
    per_block = combine(whole, by_block)
    parts_mw = [_significant(combine(p, {})["total"]["total"] * 1e3) for p in parts]
    total = groups["total"]
    energy_nj = total["total"] / (cfg.design.hardware.clock_mhz * 1e6) * 1e9
    print(
        f"  power {total['total'] * 1e3:.3f} mW (internal {total['internal'] * 1e3:.3f}, "
        f"switching {total['switching'] * 1e3:.3f}, leakage {total['leakage'] * 1e6:.3f} uW); "
        f"{energy_nj:.4f} nJ per inference (internal {reported * 1e3:.3f} mW as OpenSTA "
        "reported it)"
    )
    milliwatts = _milliwatts(groups)
    return Power(
        origin=origin,
        corner=pdk.config.corners.power,
        internal_mw=milliwatts["total"].internal,
        switching_mw=milliwatts["total"].switching,
        leakage_mw=milliwatts["total"].leakage,
        total_mw=milliwatts["total"].total,
        groups_mw=milliwatts,
        blocks_mw={b: v for b, v in _milliwatts(per_block).items() if b != "total"},
        energy_per_inference_nj=_significant(energy_nj),
        inferences_per_s=cfg.design.hardware.clock_mhz * 1e6,
        reports={name: r["file"] for name, r in figures.items()},
        opensta_internal_mw=_significant(reported * 1e3),
        halves_mw=parts_mw,
        spread_mw=_significant(abs(parts_mw[0] - parts_mw[-1]) / 2) if parts_mw else None,
    )


def _internal_ratios(lib: Path, used: set[str]) -> dict[str, float]:
    """Cell -> OpenSTA's internal power over the liberty tables' (econflow.flow.internal_power)."""
    found = internal_power.cached_ratios("sta", lib, used)
    ratios = [r for r in found.values() if r != 1.0]
    if ratios:
        print(
            f"  OpenSTA's internal power is {min(ratios):.2f} to {max(ratios):.2f} times the "
            f"liberty tables' over {len(found)} cell types: divided out per cell"
        )
    return found


def _milliwatts(groups: dict[str, dict[str, float]]) -> dict[str, PowerComponents]:
    return {
        group: PowerComponents(
            **{name: _significant(value * 1e3) for name, value in values.items()}
        )
        for group, values in groups.items()
    }


def _significant(value: float) -> float:
    """Six significant digits: leakage is nanowatts beside milliwatts of total power."""
    return float(f"{value:.6g}")
