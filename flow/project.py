"""The SiliconCompiler project of one encoder: generated RTL, constraints, PDK and flowgraph.

The flowgraph is ``elaborate -> synth -> timing`` and ``synth -> power``: SiliconCompiler's
own slang elaboration and Yosys ASIC synthesis, then OpenSTA timing and power. Place and route
will hang off ``synth`` (issue 6). Each econflow step runs the nodes it owns (``option from``
and ``to``), so a step can be rerun alone on the same job directory.
"""

from __future__ import annotations

import gc
import logging
import re
from pathlib import Path

from siliconcompiler import ASIC, Design, Flowgraph
from siliconcompiler.flows.elaborationflow import ElaborationFlow
from siliconcompiler.tools.yosys.syn_asic import ASICSynthesis

from econflow import tools
from econflow.config import HardwareSection
from econflow.errors import EconflowError
from econflow.flow.pdk import Pdk
from econflow.flow.sta_task import PowerTask, TimingTask
from econflow.rtl.artefacts import RtlDesign
from econflow.templating import environment
from econflow.tools import ABC_SCRIPT_VARIABLE, MAP_SCRIPT_VARIABLE

FLOW = "econflow-asic"
EXECUTABLES = {
    "synth": ("yosys", "SiliconCompiler's synthesis runs Yosys"),
    "timing": ("sta", "timing analysis runs OpenSTA (Debian package opensta)"),
    "power": ("sta", "power analysis runs OpenSTA (Debian package opensta)"),
}
JOB = "job0"
CLOCK = "clk"
NODES = ("elaborate", "synth", "timing", "power")
_ERROR_LINE = re.compile(r"^\s*(ERROR|Error|error)\b|\berror:")


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

    def __init__(self, design: RtlDesign, pdk: Pdk, sdc: Path, work: Path) -> None:
        self.top = design.top
        self.work = work
        source = Design(design.top)
        with source.active_fileset("rtl"):
            source.set_topmodule(design.top)
            for path in design.files:
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
        asic.set_flow(flow)

        synthesis = ASICSynthesis.find_task(asic)
        synthesis.set_environmentalvariable(ABC_SCRIPT_VARIABLE, pdk.config.synthesis.abc_script)
        synthesis.set_environmentalvariable(MAP_SCRIPT_VARIABLE, pdk.config.synthesis.map_script)
        asic.set("option", "builddir", str((work / "sc").resolve()))
        asic.set("option", "jobname", JOB)
        asic.set("option", "quiet", True)
        asic.set("option", "nodashboard", True)
        asic.set("option", "nodisplay", True)
        self.asic = asic

    def node_dir(self, node: str) -> Path:
        return self.work / "sc" / self.top / JOB / node / "0"

    def netlist(self) -> Path:
        return self.node_dir("synth") / "outputs" / f"{self.top}.vg"

    def set_sta(self, node: str, corners: list[tuple[str, Path]], sdc: Path) -> None:
        task = (TimingTask if node == "timing" else PowerTask).find_task(self.asic)
        task.set("var", "corners", [(name, str(path.resolve())) for name, path in corners])
        task.set("var", "sdc", str(sdc.resolve()))
        task.set("var", "clock", CLOCK)

    def run(self, first: str, last: str) -> None:
        """Run nodes ``first`` to ``last``; a failure names the node and its log."""
        nodes = NODES[NODES.index(first) : NODES.index(last) + 1]
        for node in nodes:
            if node in EXECUTABLES:
                tools.find(*EXECUTABLES[node])
        self.asic.set("option", "from", [first])
        self.asic.set("option", "to", [last])
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

    def _failure(self, nodes: list[str], reason: str) -> str:
        """One line: the node that failed (as SiliconCompiler names it, else the first
        without outputs), its first error line and its log."""
        named = re.search(r"errors in: (\w+)/\d+", reason)
        if named and named.group(1) in NODES:
            node = named.group(1)
        else:
            node = next((n for n in nodes if not self._finished(n)), nodes[-1])
        log = self.node_dir(node) / f"{node}.log"
        first = ""
        if log.is_file():
            errors = [
                line.strip()
                for line in log.read_text(errors="replace").splitlines()
                if _ERROR_LINE.search(line)
            ]
            first = f"; first error: {errors[0][:160]}" if errors else ""
        return f"SiliconCompiler step '{node}' failed ({reason}){first}; log: {log}"

    def _finished(self, node: str) -> bool:
        return any((self.node_dir(node) / "outputs").glob("*"))
