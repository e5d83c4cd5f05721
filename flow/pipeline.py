"""The implementation steps: ``synth``, ``sta``, ``gatesim`` and ``power`` on the design's PDK.

All four write to ``<build>/flow/``: the SiliconCompiler job under ``sc/``, the netlist
(``<top>.vg``) and constraints (``<top>.sdc``), the gate-level activity, and ``metrics.json``
with one section per step (``synth``, ``sta``, ``gate_level``, ``power``). Every figure here
is post-synthesis: liberty wire-load model, no placement, ideal clock.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from econflow.config import Config
from econflow.errors import ArtefactError, EconflowError
from econflow.flow import activity, liberty, netlist, power_model
from econflow.flow.pdk import Pdk, load_config, open_pdk
from econflow.flow.project import Project, write_sdc
from econflow.models import artefacts as model_artefacts
from econflow.rtl import artefacts as rtl_artefacts
from econflow.rtl.artefacts import RtlDesign
from econflow.stage import Step, read_metrics
from econflow.verification import bulk
from econflow.verification.pipeline import load_subject, regression_vectors

STAGE = "flow"
ACTIVITY = "activity.tsv"
ORIGIN = (
    "post-synthesis (Yosys netlist; pin capacitance and the liberty wire-load model, which for "
    "sky130 adds under 1 fF per net; ideal clock, no placement)"
)
GATE_LEVEL_DEFINES = ("FUNCTIONAL", "UNIT_DELAY=")


class TmrLostError(EconflowError):
    """Synthesis merged or removed TMR copies."""


def flow_paths(cfg: Config, build: Path) -> dict[str, Path]:
    top = f"{cfg.design.design.name}_encoder"
    out = build.resolve() / STAGE  # SiliconCompiler runs each tool in its own folder
    return {
        "out": out,
        "netlist": out / f"{top}.vg",
        "sdc": out / f"{top}.sdc",
        "activity": out / ACTIVITY,
    }


def project_for(cfg: Config, build: Path) -> tuple[RtlDesign, Pdk, Project]:
    """The design's SiliconCompiler project (one job for every implementation step)."""
    design = rtl_artefacts.load(build)
    paths = flow_paths(cfg, build)
    pdk = open_pdk(cfg, paths["out"])
    sdc = write_sdc(paths["sdc"], design, pdk, cfg.design.hardware)
    return design, pdk, Project(design, pdk, sdc, paths["out"])


def _cells(pdk: Pdk, out: Path) -> dict[str, liberty.Cell]:
    return liberty.cells(pdk.prepared_liberty(pdk.config.corners.power, out / "liberty"))


def _synth(cfg: Config, build: Path) -> dict[str, Any]:
    design, pdk, project = project_for(cfg, build)
    paths = flow_paths(cfg, build)
    print(f"  SiliconCompiler: elaborate (slang) and synthesize (Yosys) {design.top} on {pdk.name}")
    project.run("elaborate", "synth")
    shutil.copyfile(project.netlist(), paths["netlist"])
    cells = _cells(pdk, paths["out"])
    counts = netlist.read(paths["netlist"], design.top).cell_counts()
    unknown = sorted(set(counts) - set(cells))
    if unknown:
        raise ArtefactError(paths["netlist"], f"cells not in the {pdk.name} liberty: {unknown[:5]}")
    area = sum(cells[c].area_um2 * n for c, n in counts.items())
    flops = {c: n for c, n in counts.items() if cells[c].sequential}
    ff_area = sum(cells[c].area_um2 * n for c, n in flops.items())
    registers = read_metrics(rtl_artefacts.directory(build) / "metrics.json")["rtl"]["registers"]
    _check_tmr(sum(flops.values()), registers, paths["netlist"])
    mean_ff = ff_area / max(1, sum(flops.values()))
    metrics = {
        "origin": "synthesis (Yosys through SiliconCompiler)",
        "pdk": pdk.name,
        "cells": sum(counts.values()),
        "area_um2": round(area, 1),
        "flip_flops": sum(flops.values()),
        "flip_flop_area_um2": round(ff_area, 1),
        "tmr_copy_area_um2": round(2 * registers["protected_bits"] * mean_ff, 1),
        "protected_bits": registers["protected_bits"],
        "flip_flop_cells": dict(sorted(flops.items())),
        "top_cells": dict(counts.most_common(8)),
        "netlist": str(paths["netlist"]),
    }
    print(
        f"  {metrics['cells']} cells, {metrics['area_um2'] / 1e6:.3f} mm2, "
        f"{metrics['flip_flops']} flip-flops (TMR copies kept)"
    )
    return metrics


def _check_tmr(flip_flops: int, registers: dict[str, int], path: Path) -> None:
    """Flip-flops must equal register bits + 2 x protected bits: all TMR copies survived."""
    expected = registers["total_bits"] + 2 * registers["protected_bits"]
    if flip_flops != expected:
        raise TmrLostError(
            f"{path}: {flip_flops} flip-flops after synthesis, expected {expected} "
            f"({registers['total_bits']} register bits + 2 x {registers['protected_bits']} "
            "protected bits): synthesis merged or removed TMR copies"
        )


def _sta(cfg: Config, build: Path) -> dict[str, Any]:
    _, pdk, project = project_for(cfg, build)
    paths = flow_paths(cfg, build)
    libs = timing_corners(pdk, paths["out"])
    project.set_sta("timing", libs, paths["sdc"])
    print(f"  OpenSTA setup timing at corners {', '.join(c for c, _ in libs)}")
    project.run("timing", "timing")
    return timing_summary(cfg, pdk, project.node_dir("timing"), ORIGIN)


def timing_corners(pdk: Pdk, out: Path) -> list[tuple[str, Path]]:
    """The corners setup timing is reported at, with their prepared liberty files."""
    corners = [pdk.config.corners.timing, pdk.config.corners.typical_timing]
    return [(c, pdk.prepared_liberty(c, out / "liberty")) for c in dict.fromkeys(corners)]


def timing_summary(cfg: Config, pdk: Pdk, node: Path, origin: str) -> dict[str, Any]:
    """Slack per corner and the achievable clock, from a timing node's figures."""
    figures = read_json(node / "reports" / "sta.json")
    period = 1000.0 / cfg.design.hardware.clock_mhz
    result: dict[str, Any] = {"origin": origin, "clock_period_ns": round(period, 4)}
    for name, corner in figures["corners"].items():
        achievable = period - corner["wns_ns"]
        result[name] = {
            **corner,
            "meets": corner["wns_ns"] >= 0,
            "achievable_period_ns": round(achievable, 3),
            "fmax_mhz": round(1000.0 / achievable, 2),
        }
        verdict = "met" if corner["wns_ns"] >= 0 else "NOT met"
        print(
            f"  {name}: WNS {corner['wns_ns']:.3f} ns, TNS {corner['tns_ns']:.3f} ns -> "
            f"{cfg.design.hardware.clock_mhz:g} MHz {verdict}; "
            f"achievable {1000 / achievable:.1f} MHz"
        )
    result["timing_corner"] = pdk.config.corners.timing
    result["reports"] = str(node / "reports")
    return result


def _gatesim(cfg: Config, build: Path) -> dict[str, Any]:
    subject = load_subject(build)
    design, model = subject.design, subject.model
    paths = flow_paths(cfg, build)
    pdk = open_pdk(cfg, paths["out"])
    gate = cfg.design.gate_level
    charges = regression_vectors(
        subject.holdout, gate.vectors, model.charge_bits, gate.corner_cases
    )
    work = paths["out"] / "gatesim"
    print(f"  Icarus: {len(charges)} vectors through the {pdk.name} netlist with cell models")
    start = time.perf_counter()
    counts = bulk.run(
        design,
        model,
        charges,
        design.load_image(),
        work,
        "icarus",
        sources=[paths["netlist"], *pdk.sim_models()],
        defines=GATE_LEVEL_DEFINES,
        vcd="activity.vcd",
        label="gate level",
    )
    seconds = time.perf_counter() - start
    if counts["mismatches"] or counts["readback_errors"] or counts["received"] != len(charges):
        raise EconflowError(
            f"gate-level netlist {paths['netlist']} is not bit-exact: {counts['mismatches']} "
            f"mismatches, {counts['readback_errors']} read-back errors in {len(charges)} vectors "
            f"(first at vector {counts['first_mismatch']}); log: {work / 'sim.log'}"
        )
    print(f"  gate level: 0 mismatches in {len(charges)} vectors ({seconds:.0f} s)")
    measured = activity.read_vcd(work / "activity.vcd", len(charges))
    outputs = {name: cell.outputs for name, cell in _cells(pdk, paths["out"]).items()}
    toggles = activity.per_cell(
        measured, netlist.read(paths["netlist"], design.top).outputs(outputs)
    )
    activity.write(toggles, paths["activity"])
    (work / "activity.vcd").unlink()
    return {
        "origin": "gate-level simulation of the synthesized netlist (Icarus, zero delay)",
        "vectors": len(charges),
        "mismatches": counts["mismatches"],
        "readback_errors": counts["readback_errors"],
        "seconds": round(seconds, 1),
        "vectors_per_s": round(len(charges) / seconds, 2),
        "activity": {
            "cells": len(toggles),
            "mean_toggles_per_cycle": round(sum(toggles.values()) / max(1, len(toggles)), 4),
            "file": str(paths["activity"]),
        },
    }


def _power(cfg: Config, build: Path) -> dict[str, Any]:
    design, pdk, project = project_for(cfg, build)
    paths = flow_paths(cfg, build)
    corner = pdk.config.corners.power
    project.set_sta("power", [(corner, power_liberty(pdk, paths["out"]))], paths["sdc"])
    print(f"  OpenSTA per-cell power at corner {corner}, weighted by the gate-level toggles")
    project.run("power", "power")
    return power_summary(
        cfg,
        pdk,
        project.node_dir("power"),
        (paths["netlist"], power_liberty(pdk, paths["out"])),
        activity.read(paths["activity"]),
        f"{ORIGIN}; cell toggles from the gate-level simulation",
    )


def power_liberty(pdk: Pdk, out: Path) -> Path:
    return pdk.prepared_liberty(pdk.config.corners.power, out / "liberty")


def power_summary(
    cfg: Config,
    pdk: Pdk,
    node: Path,
    analysed: tuple[Path, Path],
    toggles: dict[str, float],
    origin: str,
) -> dict[str, Any]:
    """Power and energy per inference from a power node's per-cell figures, each cell
    weighted by its toggles. ``analysed`` is the netlist the node read (``toggles`` are keyed
    by its instance names) and the liberty it read."""
    figures = read_json(node / "reports" / "sta.json")["reports"]
    gate_netlist, lib = analysed
    cells = liberty.cells(lib)
    top = f"{cfg.design.design.name}_encoder"
    instances = netlist.read(gate_netlist, top).instances
    sequential = {i.name for i in instances if cells[i.cell].sequential}
    groups = power_model.combine(
        power_model.read_cells(Path(figures["active"]["file"])),
        power_model.read_cells(Path(figures["idle"]["file"])),
        toggles,
        sequential,
    )
    total = groups["total"]
    period_s = 1e-6 / cfg.design.hardware.clock_mhz
    energy_nj = total["total"] * period_s * 1e9
    print(
        f"  power {total['total'] * 1e3:.3f} mW (internal {total['internal'] * 1e3:.3f}, "
        f"switching {total['switching'] * 1e3:.3f}, leakage {total['leakage'] * 1e6:.3f} uW); "
        f"{energy_nj:.4f} nJ per inference"
    )
    milliwatts = {
        group: {name: round(value * 1e3, 6) for name, value in values.items()}
        for group, values in groups.items()
    }
    return {
        "origin": origin,
        "corner": pdk.config.corners.power,
        "internal_mw": milliwatts["total"]["internal"],
        "switching_mw": milliwatts["total"]["switching"],
        "leakage_mw": milliwatts["total"]["leakage"],
        "total_mw": milliwatts["total"]["total"],
        "groups_mw": milliwatts,
        "energy_per_inference_nj": round(energy_nj, 6),
        "inferences_per_s": cfg.design.hardware.clock_mhz * 1e6,
        "reports": {name: r["file"] for name, r in figures.items()},
    }


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ArtefactError(path, "missing: the analysis wrote no figures")
    return json.loads(path.read_text())


def pdk_config_file(cfg: Config) -> Path:
    """The PDK config file: every flow step's input, so editing it reruns them."""
    return load_config(cfg)[1]


def _rtl_inputs(cfg: Config, build: Path) -> list[Path]:
    folder = rtl_artefacts.directory(build)
    description = folder / rtl_artefacts.DESIGN
    if not description.is_file():
        return [description]
    return [description, *rtl_artefacts.load(build).files, pdk_config_file(cfg)]


def _netlist_inputs(cfg: Config, build: Path) -> list[Path]:
    paths = flow_paths(cfg, build)
    return [paths["netlist"], paths["sdc"], pdk_config_file(cfg)]


def _gatesim_inputs(cfg: Config, build: Path) -> list[Path]:
    models = model_artefacts.at(build)
    rtl = rtl_artefacts.directory(build) / rtl_artefacts.DESIGN
    netlist = flow_paths(cfg, build)["netlist"]
    return [netlist, models.quantized, models.dataset, rtl, pdk_config_file(cfg)]


def _power_inputs(cfg: Config, build: Path) -> list[Path]:
    return [*_netlist_inputs(cfg, build), flow_paths(cfg, build)["activity"]]


def _outputs(*keys: str) -> Any:
    return lambda cfg, build: [flow_paths(cfg, build)[k] for k in keys]


STEPS: tuple[Step, ...] = (
    Step(
        "synth",
        STAGE,
        "synth",
        ("hardware", "pdk"),
        _rtl_inputs,
        _outputs("netlist", "sdc"),
        _synth,
    ),
    Step("sta", STAGE, "sta", ("hardware", "pdk"), _netlist_inputs, _outputs(), _sta),
    Step(
        "gatesim",
        STAGE,
        "gate_level",
        ("gate_level", "pdk"),
        _gatesim_inputs,
        _outputs("activity"),
        _gatesim,
    ),
    Step("power", STAGE, "power", ("hardware", "pdk"), _power_inputs, _outputs(), _power),
)
