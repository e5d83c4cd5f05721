"""The implementation steps: ``synth``, ``sta``, ``gatesim`` and ``power`` on the design's PDK.

All four write to ``<build>/flow/``: the SiliconCompiler job under ``sc/``, the netlist
(``<top>.vg``) and constraints (``<top>.sdc``), the gate-level activity, and ``metrics.json``
with one section per step (``synth``, ``sta``, ``gate_level``, ``power``). Every figure here
is post-synthesis: liberty wire-load model, no placement, ideal clock.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from econflow.config import Config
from econflow.errors import ArtefactError, EconflowError
from econflow.flow import (
    analysis,
    canonical,
    equivalence,
    fanout,
    gate_bench,
    gate_graph,
    netlist_seu,
    tmr,
)
from econflow.flow.cyclesim import CycleSim
from econflow.flow.formats import activity, liberty, netlist
from econflow.flow.job import (
    FlowPaths,
    flow_paths,
    pdk_config_file,
    power_liberty,
    project_for,
    timing_corners,
)
from econflow.flow.results import (
    Activity,
    EquivalenceResult,
    FlowMetrics,
    GateLevelResult,
    NetlistSeu,
    PowerResult,
    StaResult,
    SynthResult,
)
from econflow.models import artefacts as model_artefacts
from econflow.pdk import Pdk, open_pdk
from econflow.rtl import artefacts as rtl_artefacts
from econflow.rtl.artefacts import RtlDesign
from econflow.stage import Step
from econflow.verification import bulk
from econflow.verification.pipeline import Subject, load_subject, regression_vectors
from econflow.verification.results import BulkRun

ORIGIN = (
    "post-synthesis (Yosys netlist; pin capacitance and the liberty wire-load model, which for "
    "sky130 adds under 1 fF per net; ideal clock, no placement)"
)
GATE_LEVEL_DEFINES = ("FUNCTIONAL", "UNIT_DELAY=")


def _cells(pdk: Pdk, paths: FlowPaths) -> dict[str, liberty.Cell]:
    return liberty.cells(power_liberty(pdk, paths))


def _synth(cfg: Config, build: Path) -> SynthResult:
    design, pdk, project = project_for(cfg, build)
    paths = flow_paths(cfg, build)
    print(f"  SiliconCompiler: elaborate (slang) and synthesize (Yosys) {design.top} on {pdk.name}")
    project.run("elaborate", "synth")
    canonical.renumber(project.netlist())
    cells = _cells(pdk, paths)
    max_load = pdk.config.synthesis.max_load
    buffers = fanout.buffer(project.netlist(), design.top, pdk.config.cells.buffer, max_load, cells)
    if buffers:
        print(f"  {buffers} buffers on top-level nets into the sums above {max_load} pF")
    shutil.copyfile(project.netlist(), paths.netlist)
    synthesized = netlist.read(paths.netlist, design.top)
    instances, counts = synthesized.instances, synthesized.cell_counts()
    unknown = sorted(set(counts) - set(cells))
    if unknown:
        raise ArtefactError(paths.netlist, f"cells not in the {pdk.name} liberty: {unknown[:5]}")
    area = sum(cells[c].area_um2 * n for c, n in counts.items())
    flops = {c: n for c, n in counts.items() if cells[c].sequential}
    ff_area = sum(cells[c].area_um2 * n for c, n in flops.items())
    sequential = [i.name for i in instances if cells[i.cell].sequential]
    tmr.check_kept(sequential, design.registers, str(paths.netlist))
    mean_ff = ff_area / max(1, sum(flops.values()))
    result = SynthResult(
        origin="synthesis (Yosys through SiliconCompiler)",
        pdk=pdk.name,
        cells=sum(counts.values()),
        area_um2=round(area, 1),
        flip_flops=sum(flops.values()),
        flip_flop_area_um2=round(ff_area, 1),
        tmr_copy_area_um2=round(2 * design.protected_bits * mean_ff, 1),
        protected_bits=design.protected_bits,
        flip_flop_cells=dict(sorted(flops.items())),
        top_cells=dict(counts.most_common(8)),
        netlist=str(paths.netlist),
    )
    print(
        f"  {result.cells} cells, {result.area_um2 / 1e6:.3f} mm2, {result.flip_flops} "
        f"flip-flops; all 3 copies of the {design.protected_bits} protected bits kept"
    )
    return result


def _equiv(cfg: Config, build: Path) -> EquivalenceResult:
    design = rtl_artefacts.load(build)
    paths = flow_paths(cfg, build)
    pdk = open_pdk(cfg, paths.out)
    work = paths.out / "equiv"
    if work.exists():
        shutil.rmtree(work)
    print(f"  Yosys + ABC: the {pdk.name} netlist against the RTL, one proof per kept module")
    result = equivalence.prove(
        design.top,
        [f for f in design.files if f.suffix == ".v"],
        paths.netlist,
        power_liberty(pdk, paths),
        pdk.sim_models(),
        GATE_LEVEL_DEFINES,
        work,
    )
    differ = [m for m in result.modules if not m.equivalent]
    if differ:
        raise EconflowError(
            f"netlist {paths.netlist} differs from the RTL in {[m.module for m in differ]}: "
            f"{differ[0].verdict}; see {work / differ[0].module / 'abc.log'}"
        )
    return result


def _sta(cfg: Config, build: Path) -> StaResult:
    design, pdk, project = project_for(cfg, build)
    paths = flow_paths(cfg, build)
    libs = timing_corners(pdk, paths)
    project.set_sta("timing", libs, paths.sdc)
    print(f"  OpenSTA setup timing at corners {', '.join(c for c, _ in libs)}")
    project.run("timing", "timing")
    figures = analysis.timing(cfg, pdk, project.node_dir("timing"), ORIGIN, design)
    return StaResult(**figures.model_dump())


def _gatesim(cfg: Config, build: Path) -> GateLevelResult:
    subject = load_subject(build)
    design, model = subject.design, subject.model
    paths = flow_paths(cfg, build)
    pdk = open_pdk(cfg, paths.out)
    gate = cfg.design.gate_level
    charges = regression_vectors(
        subject.holdout, gate.vectors, model.charge_bits, gate.corner_cases
    )
    start = time.perf_counter()
    print(f"  cycle simulator: the {pdk.name} netlist as and-inverter logic of its liberty")
    gates = netlist.read(paths.netlist, design.top)
    used = gates.cell_counts()
    graph = gate_graph.build(gates, liberty.library(power_liberty(pdk, paths), used), paths.netlist)
    built = time.perf_counter() - start
    print(
        f"  cycle simulator: {len(graph.fanins):,} and-nodes, {len(graph.flops.state):,} "
        f"flip-flops, {len(graph.gates.node):,} clock gates ({built:.0f} s)"
    )
    run = gate_bench.run(
        graph, design, model, charges, design.load_image(),
        window=design.description.scrub_interval,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    counts = run.counts
    if not counts.exact:
        raise EconflowError(
            f"gate-level netlist {paths.netlist} is not bit-exact: {counts.mismatches} "
            f"mismatches, {counts.readback_errors} read-back errors, {counts.received} of "
            f"{counts.vectors} outputs in the cycle simulator (first at held-out vector "
            f"{counts.first_mismatch})"
        )
    print(
        f"  gate level: 0 mismatches in {counts.vectors:,} vectors ({len(charges):,} distinct) "
        f"on {run.lanes} lanes, {run.cycles:,} cycles ({seconds:.0f} s)"
    )
    for measured, path in zip(
        [run.activity, *run.halves], [paths.activity, *paths.activity_halves], strict=True
    ):
        activity.write(measured, path)
    toggles, clocks = run.activity.toggles, run.activity.clocks
    seu = None
    if gate.seu_upsets or gate.seu_transients:
        seu = _netlist_seu(cfg, run.sim, gates, design, charges, paths.netlist)
    return GateLevelResult(
        origin="cycle simulation of the synthesized netlist (liberty functions, zero delay)",
        vectors=counts.vectors,
        distinct_vectors=len(charges),
        lanes=run.lanes,
        cycles=run.cycles,
        mismatches=counts.mismatches,
        readback_errors=counts.readback_errors,
        build_seconds=round(built, 1),
        seconds=round(seconds, 1),
        vectors_per_s=round(counts.vectors / run.seconds, 1),
        activity=Activity(
            cells=len(toggles),
            mean_toggles_per_cycle=round(sum(toggles.values()) / max(1, len(toggles)), 4),
            flip_flops=len(clocks),
            mean_clock_edges_per_cycle=round(sum(clocks.values()) / max(1, len(clocks)), 4),
            file=str(paths.activity),
        ),
        icarus=_icarus_check(subject, pdk, paths, charges[: gate.icarus_vectors])
        if gate.icarus_vectors else None,
        seu=seu,
    )  # fmt: skip


def _netlist_seu(
    cfg: Config, sim: CycleSim, gates: netlist.Netlist, design: RtlDesign, charges: np.ndarray,
    source: Path,
) -> NetlistSeu:  # fmt: skip
    """The upset and transient campaign on the netlist; TMR must mask every upset of a copy
    (the ``none`` scope must show corruption, or the injector is not working)."""
    gate = cfg.design.gate_level
    slots = np.arange(min(len(charges), 256))[None, :].repeat(sim.lanes, axis=0)
    stream = gate_bench.charge_words(charges, slots, design.ports.charge_bits, sim.words)
    print(f"  netlist SEU campaign (TMR {design.description.tmr}): {gate.seu_upsets} upsets, "
          f"{gate.seu_transients} transients per kind of net")  # fmt: skip
    seu = netlist_seu.run(
        sim, gates, design, design.load_image(), stream, gate.seu_upsets, gate.seu_transients,
        cfg.design.verification.seed, progress=lambda line: print(f"  netlist SEU: {line}"),
        targets=gate.seu_targets,
    )  # fmt: skip
    upsets = seu.upsets
    if gate.seu_targets:
        return seu  # the upsets hit what the design file named: reported, not judged
    if upsets and design.description.tmr != "none":
        if upsets.corrupted or seu.upsets_persisting:
            raise EconflowError(
                f"{source}: TMR {design.description.tmr} let {upsets.corrupted} of "
                f"{upsets.injections} upsets of a protected copy reach the outputs and "
                f"{seu.upsets_persisting} stay after scrubbing (synthesis merged copies or "
                "removed a voter?)"
            )
    elif upsets and not upsets.corrupted:
        raise EconflowError(f"{source}: TMR none: no upset changed an output (the injector "
                            "is not working)")  # fmt: skip
    return seu


def _icarus_check(subject: Subject, pdk: Pdk, paths: FlowPaths, charges: np.ndarray) -> BulkRun:
    """The first vectors again on Icarus with the PDK's own cell models: the cross-check of
    the cycle simulator and of the liberty functions it evaluates."""
    print(f"  Icarus: {len(charges)} vectors through the netlist with the PDK's cell models")
    start = time.perf_counter()
    counts = bulk.run(
        subject.design,
        subject.model,
        charges,
        subject.design.load_image(),
        paths.out / "gatesim",
        "icarus",
        sources=[paths.netlist, *pdk.sim_models()],
        defines=GATE_LEVEL_DEFINES,
        label="Icarus gate level",
    )
    seconds = time.perf_counter() - start
    if not counts.exact:
        raise EconflowError(
            f"gate-level netlist {paths.netlist} is not bit-exact on Icarus with the PDK's "
            f"models: {counts.mismatches} mismatches, {counts.readback_errors} read-back "
            f"errors in {len(charges)} vectors (first at vector {counts.first_mismatch}); log: "
            f"{paths.out / 'gatesim' / 'sim.log'}"
        )
    return BulkRun(**counts.model_dump(), seconds=round(seconds, 1),
                   vectors_per_s=round(len(charges) / seconds, 3))  # fmt: skip


def _power(cfg: Config, build: Path) -> PowerResult:
    design, pdk, project = project_for(cfg, build)
    paths = flow_paths(cfg, build)
    corner = pdk.config.corners.power
    project.set_sta("power", [(corner, power_liberty(pdk, paths))], paths.sdc)
    print(f"  OpenSTA per-cell power at corner {corner}, weighted by the gate-level toggles")
    project.run("power", "power")
    figures = analysis.power(
        cfg,
        pdk,
        project.node_dir("power"),
        (paths.netlist, power_liberty(pdk, paths)),
        [activity.read(p) for p in (paths.activity, *paths.activity_halves)],
        f"{ORIGIN}; cell toggles from the gate-level simulation",
        design,
    )
    return PowerResult(**figures.model_dump())


def _rtl_inputs(cfg: Config, build: Path) -> list[Path]:
    return [*rtl_artefacts.listed(build), pdk_config_file(cfg)]


def _netlist_inputs(cfg: Config, build: Path) -> list[Path]:
    paths = flow_paths(cfg, build)
    return [paths.netlist, paths.sdc, pdk_config_file(cfg)]


def _netlist_and_rtl_inputs(cfg: Config, build: Path) -> list[Path]:
    return [*_netlist_inputs(cfg, build), *_rtl_inputs(cfg, build)]


def _gatesim_inputs(cfg: Config, build: Path) -> list[Path]:
    models = model_artefacts.at(build)
    rtl = rtl_artefacts.directory(build) / rtl_artefacts.DESIGN
    paths = flow_paths(cfg, build)
    return [paths.netlist, models.quantized, models.dataset, rtl, pdk_config_file(cfg)]


def _power_inputs(cfg: Config, build: Path) -> list[Path]:
    return [*_netlist_inputs(cfg, build), *_gatesim_outputs(cfg, build)]


def _synth_outputs(cfg: Config, build: Path) -> list[Path]:
    paths = flow_paths(cfg, build)
    return [paths.netlist, paths.sdc]


def _no_outputs(_cfg: Config, _build: Path) -> list[Path]:
    return []


def _gatesim_outputs(cfg: Config, build: Path) -> list[Path]:
    paths = flow_paths(cfg, build)
    return [paths.activity, *paths.activity_halves]


STEPS: tuple[Step, ...] = (
    Step("synth", FlowMetrics, "synth", ("hardware", "pdk"), _rtl_inputs, _synth_outputs, _synth),
    # The proof is Yosys and ABC (one core) and writes only its figures: it runs beside
    # sta, gatesim and power, the main job's largest saving on 2 cores.
    Step(
        "equiv",
        FlowMetrics,
        "equivalence",
        ("pdk",),
        _netlist_and_rtl_inputs,
        _no_outputs,
        _equiv,
        beside=True,
    ),
    Step("sta", FlowMetrics, "sta", ("hardware", "pdk"), _netlist_inputs, _no_outputs, _sta),
    Step(
        "gatesim",
        FlowMetrics,
        "gate_level",
        ("gate_level", "pdk"),
        _gatesim_inputs,
        _gatesim_outputs,
        _gatesim,
    ),
    Step("power", FlowMetrics, "power", ("hardware", "pdk"), _power_inputs, _no_outputs, _power),
)
