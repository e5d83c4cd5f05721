"""SiliconCompiler tasks around OpenSTA as Debian ships it (2.0.17, 2019).

SiliconCompiler's own OpenSTA tasks need OpenSTA >= 2.6.2; Debian's reads the netlist and
liberty files as well but lacks the newer commands those tasks' scripts use. These tasks write
their own script (``flow/templates/sta.tcl.j2``) and read their reports into
``reports/sta.json``. ``timing``: setup slack of every clock endpoint per corner; ``power``:
internal, switching and leakage power of every cell at two activities (see ``power_model``).
After placement or routing the input node also hands on the nets' wire loads
(``<top>.loads.tcl``) and, after routing, SDF interconnect delays per corner
(``<top>.<corner>.sdf``); both are read when present.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from siliconcompiler import Task

from econflow import __version__
from econflow.errors import FormatError
from econflow.templating import environment

MIN_VERSION = "2.0"
REPORT = "reports/sta.json"
_SKEW = re.compile(
    r"^\S+ [\^v]\n\s+(-?[\d.]+)\n\S+ [\^v]\n\s+(-?[\d.]+)\s+-?[\d.]+\s+(-?[\d.]+)", re.M
)
_ENDPOINT = re.compile(
    r"^(\S+) .*?(-?\d+\.\d+)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)(?: \((?:VIOLATED|MET)\))?$",
    re.MULTILINE,
)
_INSTANCE_ROW = re.compile(r"^\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$")
_START = re.compile(r"^Startpoint: (\S+)", re.MULTILINE)
_POINTS = re.compile(r"^Startpoint: (\S+)\s+\((.*?)\)\nEndpoint: (\S+)\s+\((.*?)\)")
_END = re.compile(r"^Endpoint: (\S+)", re.MULTILINE)
_ARRIVAL = re.compile(r"^\s*(-?\d+\.\d+)\s+data arrival time", re.MULTILINE)
_SLACK = re.compile(r"^\s*(-?\d+\.\d+)\s+slack", re.MULTILINE)


def clock_skew(report: Path) -> dict[str, float]:
    """The worst skew between a launching and a capturing flip-flop of the propagated clock
    and the two clock pins' latencies (ns), from ``report_clock_skew``."""
    m = _SKEW.search(report.read_text())
    if m is None:
        raise FormatError(f"no clock skew in {report.resolve()}")
    return {
        "skew_ns": float(m.group(3)),
        "launch_latency_ns": float(m.group(1)),
        "capture_latency_ns": float(m.group(2)),
    }


def flip_flop_arrivals(report: str) -> dict[str, float]:
    """Flip-flop -> the clock's arrival at its clock pin (ns), from ``report_checks`` paths
    written with ``full_clock_expanded``: a path's launching flip-flop in its data section,
    its capturing one in its clock section. Latches (the clock gates') and ports are left
    out: a clock gate sits early in the tree by design."""
    found: dict[str, float] = {}
    for block in report.split("Startpoint: ")[1:]:
        head = _POINTS.match("Startpoint: " + block)
        if head is None:
            continue
        launch, _, capture = block.partition("data arrival time")
        for name, kind, section in ((head[1], head[2], launch), (head[3], head[4], capture)):
            pin = re.search(rf"^\s*-?[\d.]+\s+(-?[\d.]+) [\^v] {re.escape(name)}/", section, re.M)
            if "edge-triggered flip-flop" in kind and pin is not None:
                found.setdefault(name, float(pin[1]))
    return found


def worst_path(report: str) -> dict[str, Any]:
    """Start, end, data arrival time (ns) and slack (ns) of the path in a ``report_checks``
    report.

    Raises:
        FormatError: the report holds no path.
    """
    found = [pattern.search(report) for pattern in (_START, _END, _ARRIVAL, _SLACK)]
    if not all(found):
        raise FormatError("the timing report holds no complete path")
    start, end, arrival, slack = (m.group(1) for m in found if m)
    return {"start": start, "end": end, "arrival_ns": float(arrival), "slack_ns": float(slack)}


class _StaTask(Task):
    def __init__(self) -> None:
        super().__init__()
        self.add_parameter("corners", "[(str,str)]", "corner name and prepared liberty file")
        self.add_parameter("sdc", "str", "timing constraints of the design")
        self.add_parameter("clock", "str", "name of the clock whose paths are reported")

    def tool(self) -> str:
        return "sta"

    def parse_version(self, stdout: str) -> str:
        return stdout.strip().split()[0]

    def setup(self) -> None:
        super().setup()
        self.set_exe("sta", vswitch="-version")
        self.add_version(f">={MIN_VERSION}")
        self.add_input_file(ext="vg")
        for name in self._layout_files():
            self.add_input_file(file=name)
        for key in ("corners", "sdc", "clock"):
            self.add_required_key("var", key)
        self.add_regex("errors", r"^Error")
        self.add_regex("warnings", r"^Warning")

    def runtime_options(self) -> list[str]:
        return [*super().runtime_options(), "-no_init", "-exit", "sta.tcl"]

    def pre_process(self) -> None:
        super().pre_process()
        Path("reports").mkdir(exist_ok=True)
        Path("sta.tcl").write_text(
            environment("econflow.flow")
            .get_template("sta.tcl.j2")
            .render(
                version=__version__,
                mode=self.task(),
                top=self.design_topmodule,
                corners=[tuple(c) for c in self.get("var", "corners")],
                sdc=self.get("var", "sdc"),
                clock=self.get("var", "clock"),
                layout=[f"inputs/{name}" for name in self._layout_files()],
            )
        )

    def _layout_files(self) -> list[str]:
        """Wire loads and SDF files the input node wrote, if it is a layout node."""
        top = self.design_topmodule
        offered = self.get_files_from_input_nodes()
        names = [f"{top}.loads.tcl"]
        names += [f"{top}.{corner}.sdf" for corner, _ in self.get("var", "corners")]
        return [name for name in names if name in offered]

    def post_process(self) -> None:
        super().post_process()
        errors = [
            line
            for line in Path(self.get_logpath("exe")).read_text().splitlines()
            if line.startswith("Error")
        ]
        if errors:
            raise FormatError(f"OpenSTA reported {len(errors)} error(s), first: {errors[0]}")
        figures = self.figures()
        Path(REPORT).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")

    def figures(self) -> dict[str, Any]:
        raise NotImplementedError


class TimingTask(_StaTask):
    """Setup slack per corner: worst and total negative slack, violating endpoints."""

    def task(self) -> str:
        return "timing"

    def figures(self) -> dict[str, Any]:
        corners = {}
        for name, _ in self.get("var", "corners"):
            report = Path(f"reports/endpoints_{name}.rpt")
            slacks = [float(m.group(4)) for m in _ENDPOINT.finditer(report.read_text())]
            if not slacks:
                raise FormatError(f"no timing endpoints in {report.resolve()}")
            corners[name] = {
                "wns_ns": round(min(slacks), 4),
                "tns_ns": round(sum(s for s in slacks if s < 0), 4),
                "endpoints": len(slacks),
                "violating_endpoints": sum(s < 0 for s in slacks),
                "worst_path": worst_path(Path(f"reports/critical_path_{name}.rpt").read_text()),
            }
            skew = Path(f"reports/clock_skew_{name}.rpt")
            if skew.is_file():
                corners[name]["clock"] = clock_skew(skew)
                hold = Path(f"reports/hold_paths_{name}.rpt")
                arrivals = flip_flop_arrivals(hold.read_text()).values()
                if arrivals:
                    corners[name]["clock"].update(
                        flip_flops=len(arrivals),
                        flip_flop_latency_min_ns=round(min(arrivals), 4),
                        flip_flop_latency_max_ns=round(max(arrivals), 4),
                    )
            self.record_metric("setupslack", corners[name]["wns_ns"], str(report), "ns", True)
        return {"corners": corners}


class PowerTask(_StaTask):
    """Power of every cell at one corner at 1 and at ~0 transitions per clock cycle
    (``reports/power_active.rpt``, ``reports/power_idle.rpt``, watts)."""

    def task(self) -> str:
        return "power"

    def figures(self) -> dict[str, Any]:
        reports = {}
        for name in ("active", "idle"):
            report = Path(f"reports/power_{name}.rpt")
            rows = sum(1 for line in report.read_text().splitlines() if _INSTANCE_ROW.match(line))
            if not rows:
                raise FormatError(f"no per-cell power in {report.resolve()}")
            reports[name] = {"file": str(report.resolve()), "cells": rows}
        return {"reports": reports}
