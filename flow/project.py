"""The SiliconCompiler project of one encoder: generated RTL, constraints, PDK and flowgraph.

The flowgraph is ``elaborate -> synth -> timing`` and ``synth -> power``: SiliconCompiler's
own slang elaboration and Yosys ASIC synthesis, then OpenSTA timing and power. Layout hangs
off ``synth`` in one of two engines:

- ``openroad`` (where ``openroad`` is on PATH): SiliconCompiler's own OpenROAD flow
  (``PNRFlow``: floorplan, placement, clock tree, routing, fill, GDS) after its synthesis
  clean-up, and a routing-layer DRC of the GDS;
- ``qflow`` (here): ``place`` (graywolf) -> ``place_timing``/``place_power`` on estimated
  wire loads, ``route`` (qrouter) -> ``route_timing``/``route_power`` on routed wire loads and
  SDF, ``write.gds`` (SiliconCompiler's KLayout export and screenshot) -> ``drc``.

Each econflow step runs the nodes it owns (``option from`` and ``to``), so a step can be rerun
alone on the same job directory.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import shutil
from pathlib import Path

from siliconcompiler import ASIC, Design, Flowgraph
from siliconcompiler.flows.asicflow import CleanupSynthFlow, PNRFlow
from siliconcompiler.flows.elaborationflow import ElaborationFlow
from siliconcompiler.tools.klayout.drc import DRCTask
from siliconcompiler.tools.yosys.syn_asic import ASICSynthesis

from econflow import tools
from econflow.config import HardwareSection
from econflow.errors import EconflowError
from econflow.flow.results import Engine
from econflow.flow.tasks.graywolf import PlaceTask
from econflow.flow.tasks.klayout import GdsExportTask
from econflow.flow.tasks.opensta import PowerTask, TimingTask
from econflow.flow.tasks.qrouter import RouteTask
from econflow.pdk import Pdk
from econflow.rtl.artefacts import RtlDesign
from econflow.scheduler import Scheduler
from econflow.templating import environment
from econflow.tools import ABC_SCRIPT_VARIABLE, MAP_SCRIPT_VARIABLE

FLOW = "econflow-asic"
_STA = ("sta", "timing and power analysis run OpenSTA (Debian package opensta)")
_KLAYOUT = ("klayout", "the GDS, its picture and the DRC run KLayout (Debian package klayout)")
# The external programs each node runs, looked up before a run so that a missing one is named.
EXECUTABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "synth": (("yosys", "SiliconCompiler's synthesis runs Yosys"),),
    "timing": (_STA,),
    "power": (_STA,),
    "place": (
        ("graywolf", "placement runs graywolf (Debian package graywolf)"),
        ("tclsh", "qflow's scripts around graywolf run in Tcl (Debian package tcl)"),
        ("qrouter", "placement reads the routing grid from qrouter (Debian package qrouter)"),
    ),
    "place_timing": (_STA,),
    "place_power": (_STA,),
    "route": (("qrouter", "routing runs qrouter (Debian package qrouter)"),),
    "route_timing": (_STA,),
    "route_power": (_STA,),
    "write.gds": (_KLAYOUT,),
    "drc": (_KLAYOUT,),
}
JOB = "job0"
CLOCK = "clk"
DRC_DECK = "routing"
# The nodes an econflow step runs (SiliconCompiler's ``from`` and ``to``), per layout engine.
STEP_NODES: dict[Engine, dict[str, tuple[list[str], list[str]]]] = {
    "qflow": {
        "place": (["place"], ["place_timing", "place_power"]),
        "route": (["route"], ["route_timing", "route_power"]),
        "gds": (["write.gds"], ["drc"]),
    },
    "openroad": {
        "place": (["cleanup.clean"], ["cts.fillcell"]),
        "route": (["route.global"], ["dfm.metal_fill"]),
        "gds": (["write.gds", "write.views"], ["drc", "write.views"]),
    },
}


def layout_engine() -> Engine:
    """SiliconCompiler's OpenROAD flow where ``openroad`` is installed, else qflow's tools."""
    return "openroad" if shutil.which("openroad") else "qflow"


_ERROR_LINE = re.compile(r"^\s*(ERROR|Error|error)\b|\berror:")
# SiliconCompiler's node log: the line after "Pre-processing failed" / "Post-processing failed"
# holds the message of the exception an econflow task raised.
_HOOK_ERROR = re.compile(r"-processing failed for \S+\n\|[^|]*\|[^|]*\|[^|]*\|[^|]*\| (.+)")


class FlowStepError(EconflowError):
    """A SiliconCompiler node failed."""


def write_sdc(path: Path, design: RtlDesign, pdk: Pdk, hw: HardwareSection) -> Path:
    """Constraints from the design's clock and the PDK config's clock settings."""
    period = 1000.0 / hw.clock_mhz
    clock = pdk.config.clock
    text = (
        environment("econflow.flow")
        .get_template("constraints.sdc.j2")
        .render(
            top=design.top,
            clock=CLOCK,
            period=round(period, 4),
            io_delay=round(period * clock.io_delay_fraction, 4),
            c=clock,
        )
    )
    if not path.is_file() or path.read_text() != text:  # SiliconCompiler reruns on a new date
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


class Project:
    """An ASIC project for ``design`` in ``work/sc``; ``run`` runs a range of its nodes."""

    def __init__(
        self, design: RtlDesign, pdk: Pdk, sdc: Path, work: Path, engine: Engine | None = None
    ) -> None:
        self.top = design.top
        self.work = work
        self.engine: Engine = engine or layout_engine()
        source = Design(design.top)
        with source.active_fileset("rtl"):
            source.set_topmodule(design.top)
            for path in design.synthesis_files:
                source.add_file(str(path.resolve()))
        with source.active_fileset("sdc"):
            source.add_file(str(sdc.resolve()))
        asic = ASIC(source)
        asic.add_fileset(["rtl", "sdc"])
        asic.set_pdk(pdk.pdk)
        asic.add_asiclib(pdk.library)
        asic.set_mainlib(pdk.library)
        asic.set_asic_delaymodel("nldm")
        corners = pdk.config.corners
        setup = asic.constraint.timing.make_scenario(corners.timing)
        setup.add_libcorner([corners.timing])
        setup.add_check("setup")
        power = asic.constraint.timing.make_scenario(f"{corners.power}_power")
        power.add_libcorner([corners.power])
        power.add_check("power")

        flow = Flowgraph(FLOW)
        flow.graph(ElaborationFlow())
        flow.node("synth", ASICSynthesis())
        flow.edge("elaborate", "synth")
        flow.node("timing", TimingTask())
        flow.edge("synth", "timing")
        flow.node("power", PowerTask())
        flow.edge("synth", "power")
        if self.engine == "openroad":
            _openroad_layout(flow)
        else:
            _qflow_layout(flow)
        flow.node("drc", DRCTask())
        flow.edge("write.gds", "drc")
        asic.set_flow(flow)

        synthesis = ASICSynthesis.find_task(asic)
        synthesis.set_environmentalvariable(ABC_SCRIPT_VARIABLE, pdk.config.synthesis.abc_script)
        synthesis.set_environmentalvariable(MAP_SCRIPT_VARIABLE, pdk.config.synthesis.map_script)
        synthesis.set_yosys_mapadders(pdk.config.synthesis.map_adders)
        synthesis.set_yosys_abcconstraintload(pdk.config.synthesis.output_load_ff)
        asic.set("option", "builddir", str((work / "sc").resolve()))
        asic.set("option", "jobname", JOB)
        asic.set("option", "quiet", True)
        asic.set("option", "nodashboard", True)
        asic.set("option", "nodisplay", True)
        self.asic = asic

    def node_dir(self, node: str) -> Path:
        return self.work / "sc" / self.top / JOB / node / "0"

    def node_metric(self, node: str, metric: str) -> float | None:
        """A metric SiliconCompiler recorded for a node that ran (``exetime`` in s, ``memory``
        in bytes, ...), from the node's manifest."""
        manifest = self.node_dir(node) / "outputs" / f"{self.top}.pkg.json"
        if not manifest.is_file():
            return None
        values = json.loads(manifest.read_text())["metric"][metric]["node"]
        return values.get(node, {}).get("0", {}).get("value")

    def netlist(self) -> Path:
        return self.node_dir("synth") / "outputs" / f"{self.top}.vg"

    def set_sta(self, node: str, corners: list[tuple[str, Path]], sdc: Path) -> None:
        """Corners, constraints and clock of the timing (``*timing``) or power nodes."""
        task = (TimingTask if node.endswith("timing") else PowerTask).find_task(self.asic)
        task.set("var", "corners", [(name, str(path.resolve())) for name, path in corners])
        task.set("var", "sdc", str(sdc.resolve()))
        task.set("var", "clock", CLOCK)

    def set_layout(self, settings: Path, corners: list[tuple[str, Path]]) -> None:
        """The qflow tasks' settings file, and the corners the router writes SDF for."""
        for cls in (PlaceTask, RouteTask):
            cls.find_task(self.asic).set("var", "settings", str(settings.resolve()))
        RouteTask.find_task(self.asic).set(
            "var", "corners", [(name, str(path.resolve())) for name, path in corners]
        )

    def set_drc(self, deck: Path) -> None:
        """The routing-layer DRC deck, registered with the PDK as a KLayout runset."""
        pdk = self.asic.get_library(self.asic.get("asic", "pdk"))
        with pdk.active_fileset("econflow.drc"):
            pdk.add_file(str(deck.resolve()), filetype="drc", dataroot=None)
            pdk.add_runsetfileset("drc", "klayout", DRC_DECK)
        pdk.add_klayout_drcparam(
            DRC_DECK, ["input=<input>", "topcell=<topcell>", "report=<report>"], clobber=True
        )
        DRCTask.find_task(self.asic).set_klayout_drcname(DRC_DECK)

    def step_nodes(self, step: str) -> tuple[list[str], list[str]]:
        """First and last nodes of an econflow layout step in this project's engine."""
        return STEP_NODES[self.engine][step]

    def nodes(self, first: list[str], last: list[str]) -> list[str]:
        """The nodes SiliconCompiler runs from ``first`` to ``last``."""
        flow = self.asic.get("flowgraph", FLOW, field="schema")
        graph = flow.get_nodes()
        outputs: dict[str, set[str]] = {}
        for step, index in graph:
            for source, _ in flow.get(step, index, "input"):
                outputs.setdefault(source, set()).add(step)

        def reaches(node: str, seen: frozenset[str]) -> set[str]:
            if node in last:
                return set(seen | {node})
            found: set[str] = set()
            for nxt in outputs.get(node, ()):
                found |= reaches(nxt, seen | {node})
            return found

        ran: set[str] = set()
        for node in first:
            ran |= reaches(node, frozenset())
        return sorted(ran, key=[step for step, _ in graph].index)

    def run(self, first: str | list[str], last: str | list[str]) -> None:
        """Run the nodes from ``first`` to ``last``; a failure names the node and its log."""
        first = [first] if isinstance(first, str) else first
        last = [last] if isinstance(last, str) else last
        nodes = self.nodes(first, last)
        for node in nodes:
            for name, purpose in EXECUTABLES.get(node, ()):
                tools.find(name, purpose)
        self.asic.set("option", "from", first)
        self.asic.set("option", "to", last)
        self._schedule(Scheduler.from_environment())
        self.asic.logger.setLevel(logging.WARNING)
        # SiliconCompiler forks its node workers. Garbage left by TensorFlow (earlier steps of
        # the same run) must not be collected in a forked child, where it crashes: collect it
        # here and freeze what remains for the duration of the run.
        gc.collect()
        gc.freeze()
        try:
            with tools.venv_on_path():
                self.asic.run()
        except Exception as exc:  # noqa: BLE001 - SiliconCompiler raises plain exceptions
            raise FlowStepError(self._failure(nodes, str(exc).splitlines()[0])) from None
        finally:
            gc.unfreeze()
        for node in nodes:
            if node in ("elaborate", "synth") and not self._finished(node):
                raise FlowStepError(self._failure([node], "it wrote no outputs"))

    def _schedule(self, scheduler: Scheduler) -> None:
        """Every node as a Slurm job where the run asks for Slurm (``econflow.scheduler``)."""
        if scheduler.name != "slurm":
            return
        self.asic.set("option", "scheduler", "name", "slurm")
        self.asic.set("option", "scheduler", "queue", scheduler.partition)
        self.asic.set("option", "scheduler", "options", scheduler.options)

    def _failure(self, nodes: list[str], reason: str) -> str:
        """One line: the node that failed (as SiliconCompiler names it, else the first
        without outputs), its first error line and its log."""
        named = re.search(r"errors in: ([\w.]+)/\d+", reason)
        if named and named.group(1) in nodes:
            node = named.group(1)
        else:
            node = next((n for n in nodes if not self._finished(n)), nodes[-1])
        log = self.node_dir(node) / f"{node}.log"
        first = _first_error(self.node_dir(node) / f"sc_{node}_0.log", _HOOK_ERROR)
        first = first or _first_error(log, _ERROR_LINE)
        detail = f"; first error: {first[:200]}" if first else ""
        return f"SiliconCompiler step '{node}' failed ({reason}){detail}; log: {log}"

    def _finished(self, node: str) -> bool:
        return any((self.node_dir(node) / "outputs").glob("*"))


def _first_error(log: Path, pattern: re.Pattern[str]) -> str:
    """The first match of ``pattern`` in ``log`` (its first group if it has one)."""
    if not log.is_file():
        return ""
    text = log.read_text(errors="replace")
    if pattern.groups:
        match = pattern.search(text)
        return match.group(1).strip() if match else ""
    lines = [line.strip() for line in text.splitlines() if pattern.search(line)]
    return lines[0] if lines else ""


def _qflow_layout(flow: Flowgraph) -> None:
    """graywolf and qrouter, their timing and power nodes, KLayout's GDS export."""
    flow.node("place", PlaceTask())
    flow.edge("synth", "place")
    flow.node("route", RouteTask())
    flow.edge("place", "route")
    for stage in ("place", "route"):
        flow.node(f"{stage}_timing", TimingTask())
        flow.edge(stage, f"{stage}_timing")
        flow.node(f"{stage}_power", PowerTask())
        flow.edge(stage, f"{stage}_power")
    flow.node("write.gds", GdsExportTask())
    flow.edge("route", "write.gds")


def _openroad_layout(flow: Flowgraph) -> None:
    """SiliconCompiler's own OpenROAD place and route after its synthesis clean-up."""
    flow.graph(CleanupSynthFlow(), name="cleanup")
    flow.edge("synth", "cleanup.clean")
    flow.graph(PNRFlow())
    flow.edge("cleanup.clean", "floorplan.init")
    flow.remove_node("write.gds")  # the same export, with the cells' layouts merged in
    flow.node("write.gds", GdsExportTask())
    flow.edge("dfm.metal_fill", "write.gds")
