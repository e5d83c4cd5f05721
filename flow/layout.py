"""The layout steps: ``place``, ``route`` and ``gds`` on the design's PDK.

They run on the implementation job of ``econflow.flow.pipeline`` (its nodes hang off
``synth``) and write to ``<build>/layout/``: the placed and routed DEF, the SDF per corner,
the GDS and its picture, the DRC report, and ``metrics.json`` with one section per step. Every
figure says what it is: ``post-placement estimate`` (wire loads from placement HPWL) or
``post-route`` (qrouter's extracted RC, SDF from qflow's ``rc2dly``). Designs with more cells
than the PDK config's ``layout.max_route_cells`` stop after placement; with more than
``layout.max_place_cells`` they get a floorplan estimate only (graywolf would take days).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from econflow import __version__
from econflow.config import Config
from econflow.errors import ConfigError
from econflow.flow import activity, defdata, lef, pipeline, qflow, tmr_spacing
from econflow.flow import pdk as pdk_module
from econflow.flow.pdk import LayoutSettings, Pdk
from econflow.flow.place_task import INSTANCES
from econflow.flow.project import Project, layout_engine
from econflow.rtl import artefacts as rtl_artefacts
from econflow.stage import Step, read_metrics
from econflow.templating import environment

STAGE = "layout"
SETTINGS = "layout_settings.json"
DRC_DECK = "routing_drc.drc"
PLACED = "post-placement estimate"
ROUTED = "post-route"
OPENROAD_METRICS = ("cellarea", "totalarea", "utilization", "wirelength", "setupslack",
                    "totalpower", "drcs")  # fmt: skip
ENGINES = {
    "qflow": "graywolf placement and qrouter routing (qflow's tools), KLayout GDS",
    "openroad": "SiliconCompiler's OpenROAD flow (floorplan, placement, clock tree, routing)",
}


def _paths(cfg: Config, build: Path) -> dict[str, Path]:
    top = f"{cfg.design.design.name}_encoder"
    out = build.resolve() / STAGE
    return {
        "out": out,
        "placed": out / f"{top}.placed.def",
        "routed": out / f"{top}.routed.def",
        "netlist": out / f"{top}.layout.v",
        "instances": out / INSTANCES,
        "gds": out / f"{top}.gds.gz",
        "png": out / f"{top}.png",
        "drc": out / f"{top}.drc.lyrdb",
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


def _project(cfg: Config, build: Path) -> tuple[Pdk, Project, LayoutSettings]:
    """The implementation project with the layout nodes configured."""
    _, pdk, project = pipeline.project_for(cfg, build)
    layout = _settings(pdk)
    if project.engine == "qflow":
        qflow.home()
    paths = _paths(cfg, build)
    flow = pipeline.flow_paths(cfg, build)
    timing = pipeline.timing_corners(pdk, flow["out"])
    power = [(pdk.config.corners.power, pipeline.power_liberty(pdk, flow["out"]))]
    settings = qflow.Settings(
        pdk=pdk.name,
        tech_lef=str(pdk.tech_lef()),
        cell_lef=str(pdk.cell_lef()),
        site=pdk.site(),
        utilization=pdk.config.core_utilization / 100,
        power_pins=(pdk.config.supply_pin, pdk.config.ground_pin),
        layout=layout.model_dump(mode="json"),
    ).write(paths["out"] / SETTINGS)
    project.set_layout(settings, timing)
    for stage in ("place", "route"):
        project.set_sta(f"{stage}_timing", timing, flow["sdc"])
        project.set_sta(f"{stage}_power", power, flow["sdc"])
    deck = paths["out"] / DRC_DECK
    text = (
        environment("econflow.flow")
        .get_template("routing_drc.drc.j2")
        .render(version=__version__, pdk=pdk.name, layers=layout.layers, cuts=layout.cuts)
    )
    if not deck.is_file() or deck.read_text() != text:
        deck.write_text(text)
    project.set_drc(deck)
    return pdk, project, layout


def _toggles(cfg: Config, build: Path) -> dict[str, float]:
    """Gate-level toggles per cycle keyed by the placed instance names."""
    measured = activity.read(pipeline.flow_paths(cfg, build)["activity"])
    names = _instance_map(_paths(cfg, build)["instances"])
    return {placed: measured[synth] for placed, synth in names.items() if synth in measured}


def _instance_map(path: Path) -> dict[str, str]:
    """Placed instance name -> synthesized name, from the place step's map."""
    return dict(line.split("\t") for line in path.read_text().splitlines())


def _analysis(
    cfg: Config, build: Path, pdk: Pdk, project: Project, stage: str, origin: str
) -> dict[str, Any]:
    """Timing and power of the placed or routed netlist (nodes ``<stage>_timing/_power``)."""
    paths = _paths(cfg, build)
    power_lib = pipeline.power_liberty(pdk, pipeline.flow_paths(cfg, build)["out"])
    return {
        "timing": pipeline.timing_summary(cfg, pdk, project.node_dir(f"{stage}_timing"), origin),
        "power": pipeline.power_summary(
            cfg,
            pdk,
            project.node_dir(f"{stage}_power"),
            (paths["netlist"], power_lib),
            _toggles(cfg, build),
            f"{origin}; cell toggles from the gate-level simulation",
        ),
    }


def _tool_cost(project: Project, node: str) -> dict[str, float]:
    """The tool's own runtime (s) and peak memory (MB) in ``node``, as SiliconCompiler
    measured them."""
    seconds = project.node_metric(node, "exetime") or 0.0
    memory = project.node_metric(node, "memory") or 0.0
    return {"tool_seconds": round(seconds, 1), "tool_memory_mb": round(memory / 2**20, 1)}


def _announce(project: Project) -> None:
    reason = "" if project.engine == "openroad" else " (openroad is not on PATH)"
    print(f"  layout engine: {ENGINES[project.engine]}{reason}")


def _floorplan(cfg: Config, build: Path, layout: LayoutSettings, pdk: Pdk) -> dict[str, Any]:
    """What a design too large to place here gets: the core its cells would need."""
    synth = read_metrics(pipeline.flow_paths(cfg, build)["out"] / "metrics.json")["synth"]
    core = synth["area_um2"] / (pdk.config.core_utilization / 100)
    reason = (
        f"{synth['cells']} cells exceed layout.max_place_cells = {layout.max_place_cells} of "
        f"the PDK config (graywolf's runtime grows about as the square of the cell count)"
    )
    print(f"  not placed: {reason}; core estimated at {core / 1e6:.3f} mm2")
    return {
        "placed": False,
        "routable": False,
        "reason": reason,
        "origin": "floorplan estimate (synthesized cell area / core utilization; no placement)",
        "cells": synth["cells"],
        "cell_area_um2": synth["area_um2"],
        "core_area_um2": round(core, 1),
        "core_side_um": round(core**0.5, 1),
        "utilization": pdk.config.core_utilization / 100,
        "max_place_cells": layout.max_place_cells,
        "max_route_cells": layout.max_route_cells,
    }


def _place(cfg: Config, build: Path) -> dict[str, Any]:
    pdk, project, layout = _project(cfg, build)
    _check_utilization(pdk, layout)
    _announce(project)
    if _too_large(cfg, build, layout):
        return {"engine": project.engine, "tools": ENGINES[project.engine],
                **_floorplan(cfg, build, layout, pdk)}  # fmt: skip
    if project.engine == "openroad":
        project.run(*project.step_nodes("place"))
        return {"placed": True, "routable": True, **_openroad_metrics(project, "place")}
    paths = _paths(cfg, build)
    print(f"  graywolf: placing at {pdk.config.core_utilization:g}% core utilization")
    project.run(*project.step_nodes("place"))
    node = project.node_dir("place")
    figures = pipeline.read_json(node / "reports" / "place.json")
    top = project.top
    shutil.copyfile(node / "outputs" / f"{top}.def", paths["placed"])
    shutil.copyfile(node / "outputs" / f"{top}.vg", paths["netlist"])
    shutil.copyfile(node / "outputs" / INSTANCES, paths["instances"])
    print(
        f"  {figures['cells']} cells, {figures['taps']} well taps, die "
        f"{figures['die_width_um']:.1f} x {figures['die_height_um']:.1f} um, utilization "
        f"{100 * figures['utilization']:.1f}%, HPWL {figures['hpwl_um'] / 1e3:.2f} mm"
    )
    figures["tmr_separation"] = _tmr_separation(build, paths)
    origin = f"{PLACED} (wire loads from placement HPWL x {layout.estimate_cap_ff_per_um} fF/um)"
    routable = figures["cells"] <= layout.max_route_cells
    return {
        "placed": True,
        "origin": f"{PLACED} (graywolf placement)",
        "engine": project.engine,
        "tools": ENGINES[project.engine],
        **figures,
        **_analysis(cfg, build, pdk, project, "place", origin),
        "routable": routable,
        "max_route_cells": layout.max_route_cells,
        **_tool_cost(project, "place"),
        "def": str(paths["placed"]),
    }


def _tmr_separation(build: Path, paths: dict[str, Path]) -> dict[str, Any]:
    protected = rtl_artefacts.load(build).protected_registers
    text = paths["placed"].read_text()
    instances = _instance_map(paths["instances"])
    found = tmr_spacing.separation(
        defdata.components(text), instances, protected, defdata.units(text)
    )
    if found["triplets"]:
        print(
            f"  TMR copies: closest two of a bit {found['min_um']} um apart "
            f"({found['closest_bit']}), median {found['median_um']} um over "
            f"{found['triplets']} of {found['protected_bits']} protected bits"
        )
    return found


def _route(cfg: Config, build: Path) -> dict[str, Any]:
    place = read_metrics(_paths(cfg, build)["out"] / "metrics.json").get("place", {})
    if not place.get("routable", False):
        reason = (
            f"{place.get('cells')} cells exceed layout.max_route_cells = "
            f"{place.get('max_route_cells')} of the PDK config: figures stay "
            + (PLACED if place.get("placed") else "post-synthesis (the design was not placed)")
        )
        print(f"  not routed: {reason}")
        return {"routed": False, "reason": reason}
    pdk, project, _ = _project(cfg, build)
    if project.engine == "openroad":
        project.run(*project.step_nodes("route"))
        return {"routed": True, **_openroad_metrics(project, "route")}
    paths = _paths(cfg, build)
    print("  qrouter: detailed routing")
    project.run(*project.step_nodes("route"))
    node = project.node_dir("route")
    figures = pipeline.read_json(node / "reports" / "route.json")
    shutil.copyfile(node / "outputs" / f"{project.top}.def", paths["routed"])
    for sdf in (node / "outputs").glob("*.sdf"):
        shutil.copyfile(sdf, paths["out"] / sdf.name)
    print(
        f"  routed: 0 failed nets, wire {figures['wirelength_um'] / 1e3:.2f} mm, "
        f"{figures['wire_cap_pf']:.3f} pF"
    )
    origin = f"{ROUTED} (routed wire loads; SDF interconnect delays from qrouter's RC by rc2dly)"
    return {
        "routed": True,
        "origin": f"{ROUTED} (qrouter)",
        **figures,
        **_analysis(cfg, build, pdk, project, "route", origin),
        **_tool_cost(project, "route"),
        "def": str(paths["routed"]),
    }


def _gds(cfg: Config, build: Path) -> dict[str, Any]:
    paths = _paths(cfg, build)
    route = read_metrics(paths["out"] / "metrics.json").get("route", {})
    if not route.get("routed", False):
        print("  no GDS: the design was not routed")
        return {"written": False, "reason": "not routed"}
    pdk, project, _ = _project(cfg, build)
    print("  KLayout: cell layouts merged into the GDS, picture, routing-layer DRC")
    project.run(*project.step_nodes("gds"))
    export = project.node_dir("write.gds") / "outputs"
    shutil.copyfile(export / f"{project.top}.gds.gz", paths["gds"])
    shutil.copyfile(export / f"{project.top}.png", paths["png"])
    shutil.copyfile(project.node_dir("drc") / "outputs" / f"{project.top}.lyrdb", paths["drc"])
    by_rule = drc_counts(paths["drc"])
    total = sum(by_rule.values())
    print(f"  routing-layer DRC: {total} violations (not sign-off DRC)")
    return {
        "written": True,
        "origin": f"{ROUTED} (KLayout)",
        "gds": str(paths["gds"]),
        "png": str(paths["png"]),
        "drc": {
            "violations": total,
            "by_rule": by_rule,
            "report": str(paths["drc"]),
            "deck": str(paths["out"] / DRC_DECK),
            "scope": "routing layers only (widths, spacings, via enclosures, minimum areas); "
            "not sign-off DRC",
        },
    }


def drc_counts(lyrdb: Path) -> dict[str, int]:
    """Violations per rule in a KLayout report database."""
    root = ElementTree.parse(lyrdb).getroot()
    counts = {c.findtext("name"): 0 for c in root.iter("category") if c.findtext("name")}
    for item in root.iter("item"):
        rule = (item.findtext("category") or "").strip("'")
        counts[rule] = counts.get(rule, 0) + 1
    return dict(sorted(counts.items()))


def _openroad_metrics(project: Project, step: str) -> dict[str, Any]:
    """SiliconCompiler's own metrics of the OpenROAD nodes an econflow step ran."""
    found = {}
    for node in project.nodes(*project.step_nodes(step)):
        for metric in OPENROAD_METRICS:
            value = project.asic.get("metric", metric, step=node, index="0")
            if value is not None:
                found[metric] = value
    return {
        "engine": "openroad",
        "tools": ENGINES["openroad"],
        "origin": f"SiliconCompiler OpenROAD {step}",
        "openroad": found,
    }


def _flow_inputs(cfg: Config, build: Path) -> list[Path]:
    flow = pipeline.flow_paths(cfg, build)
    return [flow["netlist"], flow["sdc"], flow["activity"], pipeline.pdk_config_file(cfg)]


def _place_inputs(cfg: Config, build: Path) -> list[Path]:
    return [*_place_outputs(cfg, build), *_flow_inputs(cfg, build)]


def _too_large(cfg: Config, build: Path, layout: LayoutSettings) -> bool:
    """Too many cells for graywolf here: the design gets a floorplan estimate instead."""
    synth = read_metrics(pipeline.flow_paths(cfg, build)["out"] / "metrics.json").get("synth", {})
    return layout_engine() == "qflow" and synth.get("cells", 0) > layout.max_place_cells


def _place_outputs(cfg: Config, build: Path) -> list[Path]:
    layout = pdk_module.load_config(cfg)[0].layout
    if layout is None or _too_large(cfg, build, layout):
        return []
    return [_paths(cfg, build)[k] for k in ("placed", "netlist", "instances")]


def _route_outputs(cfg: Config, build: Path) -> list[Path]:
    paths = _paths(cfg, build)
    place = read_metrics(paths["out"] / "metrics.json").get("place", {})
    return [paths["routed"]] if place.get("routable") else []


def _gds_outputs(cfg: Config, build: Path) -> list[Path]:
    paths = _paths(cfg, build)
    route = read_metrics(paths["out"] / "metrics.json").get("route", {})
    return [paths["gds"], paths["png"], paths["drc"]] if route.get("routed") else []


def _gds_inputs(cfg: Config, build: Path) -> list[Path]:
    return [*_place_inputs(cfg, build), *_route_outputs(cfg, build)]


STEPS: tuple[Step, ...] = (
    Step(
        "place",
        STAGE,
        "place",
        ("hardware", "pdk"),
        _flow_inputs,
        _place_outputs,
        _place,
    ),
    Step("route", STAGE, "route", ("hardware", "pdk"), _place_inputs, _route_outputs, _route),
    Step("gds", STAGE, "gds", ("pdk",), _gds_inputs, _gds_outputs, _gds),
)
