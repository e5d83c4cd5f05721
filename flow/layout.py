"""The layout steps: ``place``, ``route`` and ``gds`` on the design's PDK.

They run on the implementation job of :mod:`econflow.flow.job` (their nodes hang off
``synth``) and write to ``<build>/layout/``: the placed and routed DEF, the SDF per corner,
the GDS and its picture, the DRC report, and ``metrics.json`` with one section per step. Every
figure says what it is: ``post-placement estimate`` (wire loads from placement HPWL) or
``post-route`` (qrouter's extracted RC, SDF from qflow's ``rc2dly``). Designs with more cells
than the PDK config's ``layout.max_route_cells`` stop after placement; with more than
``layout.max_place_cells`` they get a floorplan estimate only (graywolf would take days).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from econflow import __version__
from econflow import pdk as pdk_configs
from econflow.config import Config
from econflow.errors import ArtefactError, ConfigError
from econflow.flow import analysis, buffering, magic_drc, tmr
from econflow.flow.formats import activity, lef, lyrdb
from econflow.flow.job import (
    LayoutPaths,
    flow_paths,
    layout_paths,
    pdk_config_file,
    power_liberty,
    project_for,
    timing_corners,
)
from econflow.flow.legalizer import Rows
from econflow.flow.project import Project, layout_engine
from econflow.flow.results import (
    Drc,
    Floorplan,
    FlowMetrics,
    GdsResult,
    LayoutMetrics,
    Placement,
    PlaceResult,
    Power,
    RouteResult,
    Routing,
    SynthResult,
    Timing,
    TmrSeparation,
    ToolCost,
)
from econflow.flow.tasks import graywolf, qflow
from econflow.pdk import LayoutSettings, Pdk
from econflow.rtl import artefacts as rtl_artefacts
from econflow.stage import Step
from econflow.templating import environment

SETTINGS = "layout_settings.json"
DRC_DECK = "routing_drc.drc"
DRC_SCOPE = (
    "routing layers only (widths, spacings, via enclosures, minimum areas, holes); not sign-off DRC"
)
PLACED = "post-placement estimate"
ROUTED = "post-route"
OPENROAD_METRICS = ("cellarea", "totalarea", "utilization", "wirelength", "setupslack",
                    "totalpower", "drcs")  # fmt: skip
ENGINES = {
    "qflow": "graywolf placement and qrouter routing (qflow's tools), KLayout GDS",
    "openroad": "SiliconCompiler's OpenROAD flow (floorplan, placement, clock tree, routing)",
}


def _settings(pdk: Pdk) -> LayoutSettings:
    if pdk.config.layout is None:
        raise ConfigError(
            pdk.path,
            "layout",
            "this PDK config has no place-and-route data (routing layers, fill and tap cells, "
            "DRC rules); place and route need it",
        )
    return pdk.config.layout


def _check_utilization(pdk: Pdk, layout: LayoutSettings) -> None:
    """The core must hold the cells, a well tap every ``tap_pitch`` in each row, and the power
    stripes (one per stripe pitch, supply and ground alternating)."""
    tap_width = lef.macro_sizes(Path(pdk.cell_lef()).read_text())[layout.tap_cell][0]
    taps = tap_width / layout.tap_pitch_um
    stripes = layout.stripes.width_um / layout.stripes.pitch_um
    room = 100 * (1 - taps - stripes)
    if pdk.config.core_utilization > room:
        raise ConfigError(
            pdk.path,
            "core_utilization",
            f"{pdk.config.core_utilization:g}% cannot fit: well taps ({100 * taps:.1f}%) and power "
            f"stripes ({100 * stripes:.1f}%) leave room for at most {room:.0f}%",
        )


def _utilization(pdk: Pdk, layout: LayoutSettings, synth: SynthResult) -> float:
    """The core utilization (%) this design is placed at: less than the PDK config's for a
    design large enough to need room for the router (``layout.route_room``)."""
    return layout.utilization(synth.cells, pdk.config.core_utilization)


def _synth(build: Path) -> SynthResult:
    synth = FlowMetrics.read(build).synth
    if synth is None:
        raise ArtefactError(FlowMetrics.path(build), "no synthesis figures (run the synth step)")
    return synth


def _clock_delays(pdk: Pdk, layout: LayoutSettings, liberty: Path) -> buffering.ClockDelays | None:
    """The delays the clock trees are balanced with through the PDK config's clock gate, at
    the timing corner; None for a PDK config without one (no gated clocks)."""
    gate = pdk.config.cells.clock_gate
    return None if gate is None else buffering.clock_delays(liberty, layout.buffer_trees, gate)


def _project(cfg: Config, build: Path) -> tuple[Pdk, Project, LayoutSettings]:
    """The implementation project with the layout nodes configured."""
    _, pdk, project = project_for(cfg, build)
    layout = _settings(pdk)
    if project.engine == "qflow":
        qflow.home()
    paths = layout_paths(cfg, build)
    flow = flow_paths(cfg, build)
    timing = timing_corners(pdk, flow)
    power = [(pdk.config.corners.power, power_liberty(pdk, flow))]
    synth = _synth(build)
    settings = qflow.Settings(
        pdk=pdk.name,
        tech_lef=str(pdk.tech_lef()),
        cell_lef=str(pdk.cell_lef()),
        site=pdk.site(),
        utilization=_utilization(pdk, layout, synth) / 100,
        power_pins=(pdk.config.supply_pin, pdk.config.ground_pin),
        layout=layout,
        protected=tuple(r for r in rtl_artefacts.load(build).registers if r.protected),
        clock_delays=_clock_delays(pdk, layout, timing[0][1]),
        congestion_feedback=layout.feedback(synth.cells),
    ).write(paths.out / SETTINGS)
    project.set_layout(settings, timing)
    for stage in ("place", "route"):
        project.set_sta(f"{stage}_timing", timing, flow.sdc)
        project.set_sta(f"{stage}_power", power, flow.sdc)
    deck = paths.out / DRC_DECK
    text = (
        environment("econflow.flow")
        .get_template("routing_drc.drc.j2")
        .render(version=__version__, pdk=pdk.name, layers=layout.layers, cuts=layout.cuts)
    )
    if not deck.is_file() or deck.read_text() != text:
        deck.write_text(text)
    project.set_drc(deck)
    return pdk, project, layout


def _activities(cfg: Config, build: Path) -> list[activity.CellActivity]:
    """The gate-level activity, whole then by halves, keyed by the placed instance names, with
    the tree buffers'."""
    paths = flow_paths(cfg, build)
    placed = layout_paths(cfg, build)
    names = qflow.read_instances(placed.instances)
    inserted = [buffering.Inserted(**b) for b in json.loads(placed.buffers.read_text())]
    return [
        buffering.with_buffers(activity.read(p).renamed(names), inserted)
        for p in (paths.activity, *paths.activity_halves)
    ]


def _analysis(
    cfg: Config, build: Path, pdk: Pdk, project: Project, stage: str, origin: str
) -> tuple[Timing, Power]:
    """Timing and power of the placed or routed netlist (nodes ``<stage>_timing/_power``)."""
    paths = layout_paths(cfg, build)
    power_lib = power_liberty(pdk, flow_paths(cfg, build))
    design = rtl_artefacts.load(build)
    timing = analysis.timing(cfg, pdk, project.node_dir(f"{stage}_timing"), origin, design)
    power = analysis.power(
        cfg,
        pdk,
        project.node_dir(f"{stage}_power"),
        (paths.netlist, power_lib),
        _activities(cfg, build),
        f"{origin}; cell toggles from the gate-level simulation",
        design,
    )
    return timing, power


def _tool_cost(project: Project, node: str) -> ToolCost:
    seconds = project.node_metric(node, "exetime") or 0.0
    memory = project.node_metric(node, "memory") or 0.0
    return ToolCost(seconds=round(seconds, 1), memory_mb=round(memory / 2**20, 1))


def _announce(project: Project) -> None:
    reason = "" if project.engine == "openroad" else " (openroad is not on PATH)"
    print(f"  layout engine: {ENGINES[project.engine]}{reason}")


def _floorplan(cfg: Config, build: Path, layout: LayoutSettings, pdk: Pdk) -> PlaceResult:
    """What a design too large to place here gets: the core its cells would need."""
    synth = _synth(build)
    utilization = _utilization(pdk, layout, synth)
    core = synth.area_um2 / (utilization / 100)
    reason = (
        f"{synth.cells} cells exceed layout.max_place_cells = {layout.max_place_cells} of "
        f"the PDK config (graywolf's runtime grows about as the square of the cell count)"
    )
    print(f"  not placed: {reason}; core estimated at {core / 1e6:.3f} mm2")
    return PlaceResult(
        engine="qflow",
        tools=ENGINES["qflow"],
        origin="floorplan estimate (synthesized cell area / core utilization; no placement)",
        placed=False,
        routable=False,
        reason=reason,
        max_route_cells=layout.max_route_cells,
        max_place_cells=layout.max_place_cells,
        floorplan=Floorplan(
            cells=synth.cells,
            cell_area_um2=synth.area_um2,
            core_area_um2=round(core, 1),
            core_side_um=round(core**0.5, 1),
            utilization=utilization / 100,
        ),
    )


def _place(cfg: Config, build: Path) -> PlaceResult:
    pdk, project, layout = _project(cfg, build)
    _check_utilization(pdk, layout)
    _announce(project)
    if _too_large(build, layout):
        return _floorplan(cfg, build, layout, pdk)
    if project.engine == "openroad":
        project.run(*project.step_nodes("place"))
        origin, metrics = _openroad(project, "place")
        return PlaceResult(
            engine="openroad",
            tools=ENGINES["openroad"],
            origin=origin,
            placed=True,
            routable=True,
            openroad=metrics,
        )
    paths = layout_paths(cfg, build)
    utilization = _utilization(pdk, layout, _synth(build))
    room = "" if utilization == pdk.config.core_utilization else " (layout.route_room)"
    print(f"  graywolf: placing at {utilization:g}% core utilization{room}")
    project.run(*project.step_nodes("place"))
    node = project.node_dir("place")
    placement = Placement.model_validate(analysis.read_json(node / "reports" / "place.json"))
    top = project.top
    shutil.copyfile(node / "outputs" / f"{top}.def", paths.placed)
    shutil.copyfile(node / "outputs" / f"{top}.vg", paths.netlist)
    shutil.copyfile(node / "outputs" / qflow.INSTANCES, paths.instances)
    shutil.copyfile(node / "outputs" / graywolf.BUFFERS, paths.buffers)
    print(
        f"  {placement.cells} cells, {placement.taps} well taps, die "
        f"{placement.die_width_um:.1f} x {placement.die_height_um:.1f} um, utilization "
        f"{100 * placement.utilization:.1f}%, HPWL {placement.hpwl_um / 1e3:.2f} mm"
    )
    separation = _tmr_separation(build, paths, pdk, layout, node)
    origin = f"{PLACED} (wire loads from placement HPWL x {layout.estimate_cap_ff_per_um} fF/um)"
    timing, power = _analysis(cfg, build, pdk, project, "place", origin)
    return PlaceResult(
        engine="qflow",
        tools=ENGINES["qflow"],
        origin=f"{PLACED} (graywolf placement)",
        placed=True,
        routable=placement.cells <= layout.max_route_cells,
        max_route_cells=layout.max_route_cells,
        max_place_cells=layout.max_place_cells,
        placement=placement,
        tmr_separation=separation,
        timing=timing,
        power=power,
        tool=_tool_cost(project, "place"),
        def_file=str(paths.placed),
    )


def _tmr_separation(
    build: Path, paths: LayoutPaths, pdk: Pdk, layout: LayoutSettings, node: Path
) -> TmrSeparation:
    """The place task's separation of the TMR copies, checked on the final placement."""
    found = TmrSeparation.model_validate(analysis.read_json(node / graywolf.TMR_REPORT))
    rows = Rows(
        paths.placed.read_text(),
        lef.macro_sizes(Path(pdk.cell_lef()).read_text()),
        layout.fill_cell,
    )
    registers = rtl_artefacts.load(build).registers
    closest = tmr.closest(rows, tmr.placed_copies(qflow.read_instances(paths.instances), registers))
    short = {bit: d for bit, d in closest.items() if d < layout.tmr_min_separation_um - 0.005}
    if short:
        bit = min(short, key=short.__getitem__)
        raise tmr.TmrSeparationError(
            f"{paths.placed}: the copies of protected bit {tmr.label(bit)} are "
            f"{short[bit]:.2f} um apart, closer than layout.tmr_min_separation_um = "
            f"{layout.tmr_min_separation_um:g} um ({len(short)} bits too close)"
        )
    before, after = found.before, tmr.distances(closest)
    if before is not None and after is not None:
        print(
            f"  TMR copies: {found.moved} moved to keep the {found.triplets} protected bits' "
            f"copies {found.required_um:g} um apart; closest two {before.min_um} -> "
            f"{after.min_um} um ({after.closest_bit}), median {before.median_um} -> "
            f"{after.median_um} um; placement wire +{found.hpwl_increase_um / 1e3:.2f} mm"
        )
        found = found.model_copy(update={"after": after})
    return found


def _route(cfg: Config, build: Path) -> RouteResult:
    place = LayoutMetrics.read(build).place
    if place is None or not place.routable:
        if place is None:
            reason = "the design was not placed (run the place step)"
        else:
            reason = (
                f"{_cells(place)} cells exceed layout.max_route_cells = {place.max_route_cells} "
                "of the PDK config: figures stay "
                + (PLACED if place.placed else "post-synthesis (the design was not placed)")
            )
        print(f"  not routed: {reason}")
        return RouteResult(routed=False, reason=reason)
    pdk, project, _ = _project(cfg, build)
    if project.engine == "openroad":
        project.run(*project.step_nodes("route"))
        origin, metrics = _openroad(project, "route")
        return RouteResult(routed=True, engine="openroad", origin=origin, openroad=metrics)
    paths = layout_paths(cfg, build)
    print("  qrouter: detailed routing")
    project.run(*project.step_nodes("route"))
    node = project.node_dir("route")
    routing = Routing.model_validate(analysis.read_json(node / "reports" / "route.json"))
    shutil.copyfile(node / "outputs" / f"{project.top}.def", paths.routed)
    for sdf in (node / "outputs").glob("*.sdf"):
        shutil.copyfile(sdf, paths.out / sdf.name)
    print(
        f"  routed: 0 failed nets, wire {routing.wirelength_um / 1e3:.2f} mm, "
        f"{routing.wire_cap_pf:.3f} pF, {routing.notch_fills} fills, "
        f"{routing.spurs_trimmed} dead ends trimmed, {routing.cuts_merged} cuts merged, "
        f"{routing.vias_turned} vias turned, {routing.wires_nudged} wires nudged"
    )
    origin = f"{ROUTED} (routed wire loads; SDF interconnect delays from qrouter's RC by rc2dly)"
    timing, power = _analysis(cfg, build, pdk, project, "route", origin)
    return RouteResult(
        routed=True,
        engine="qflow",
        origin=f"{ROUTED} (qrouter)",
        routing=routing,
        timing=timing,
        power=power,
        tool=_tool_cost(project, "route"),
        def_file=str(paths.routed),
    )


def _cells(place: PlaceResult) -> int | None:
    """The cells of a placed or floorplanned design."""
    if place.placement is not None:
        return place.placement.cells
    return place.floorplan.cells if place.floorplan is not None else None


def _gds(cfg: Config, build: Path) -> GdsResult:
    paths = layout_paths(cfg, build)
    route = LayoutMetrics.read(build).route
    if route is None or not route.routed:
        print("  no GDS: the design was not routed")
        return GdsResult(written=False, reason="not routed")
    pdk, project, _ = _project(cfg, build)
    print("  KLayout: cell layouts merged into the GDS, picture, routing-layer DRC")
    project.run(*project.step_nodes("gds"))
    export = project.node_dir("write.gds") / "outputs"
    shutil.copyfile(export / f"{project.top}.gds.gz", paths.gds)
    shutil.copyfile(export / f"{project.top}.png", paths.png)
    shutil.copyfile(project.node_dir("drc") / "outputs" / f"{project.top}.lyrdb", paths.drc)
    by_rule = lyrdb.violations(paths.drc)
    total = sum(by_rule.values())
    print(f"  routing-layer DRC: {total} violations (not sign-off DRC)")
    tech = pdk.magic_tech()
    magic = None
    if tech is not None:
        magic = magic_drc.check(paths.gds, project.top, tech, paths.out / "magic")
        print(
            f"  Magic DRC ({tech.name}, full deck): {magic.errors} error boxes in "
            f"{project.top}, {magic.seconds:.0f} s"
        )
    return GdsResult(
        written=True,
        origin=f"{ROUTED} (KLayout)",
        gds=str(paths.gds),
        png=str(paths.png),
        drc=Drc(
            violations=total,
            by_rule=by_rule,
            report=str(paths.drc),
            deck=str(paths.out / DRC_DECK),
            scope=DRC_SCOPE,
        ),
        magic=magic,
    )


def _openroad(project: Project, step: str) -> tuple[str, dict[str, float]]:
    """The origin and SiliconCompiler's own metrics of the OpenROAD nodes a step ran (the last
    node that reports a metric gives its value)."""
    found = {}
    for node in project.nodes(*project.step_nodes(step)):
        for metric in OPENROAD_METRICS:
            value = project.asic.get("metric", metric, step=node, index="0")
            if value is not None:
                found[metric] = float(value)
    return f"SiliconCompiler OpenROAD {step}", found


def _flow_inputs(cfg: Config, build: Path) -> list[Path]:
    flow = flow_paths(cfg, build)
    return [flow.netlist, flow.sdc, flow.activity, *flow.activity_halves, pdk_config_file(cfg)]


def _place_inputs(cfg: Config, build: Path) -> list[Path]:
    return [*_place_outputs(cfg, build), *_flow_inputs(cfg, build)]


def _too_large(build: Path, layout: LayoutSettings) -> bool:
    """Too many cells for graywolf here: the design gets a floorplan estimate instead."""
    synth = FlowMetrics.read(build).synth
    return layout_engine() == "qflow" and synth is not None and synth.cells > layout.max_place_cells


def _place_outputs(cfg: Config, build: Path) -> list[Path]:
    layout = pdk_configs.load_config(cfg)[0].layout
    if layout is None or _too_large(build, layout):
        return []
    paths = layout_paths(cfg, build)
    return [paths.placed, paths.netlist, paths.instances, paths.buffers]


def _route_outputs(cfg: Config, build: Path) -> list[Path]:
    place = LayoutMetrics.read(build).place
    return [layout_paths(cfg, build).routed] if place is not None and place.routable else []


def _gds_outputs(cfg: Config, build: Path) -> list[Path]:
    paths = layout_paths(cfg, build)
    route = LayoutMetrics.read(build).route
    return [paths.gds, paths.png, paths.drc] if route is not None and route.routed else []


def _gds_inputs(cfg: Config, build: Path) -> list[Path]:
    return [*_place_inputs(cfg, build), *_route_outputs(cfg, build)]


STEPS: tuple[Step, ...] = (
    Step(
        "place", LayoutMetrics, "place", ("hardware", "pdk"), _flow_inputs, _place_outputs, _place
    ),
    # route and gds read whether the step before placed and routed the design
    Step(
        "route",
        LayoutMetrics,
        "route",
        ("hardware", "pdk"),
        _place_inputs,
        _route_outputs,
        _route,
        reads=("place",),
    ),
    Step("gds", LayoutMetrics, "gds", ("pdk",), _gds_inputs, _gds_outputs, _gds, reads=("route",)),
)
