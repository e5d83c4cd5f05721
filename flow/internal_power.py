"""Internal power as the liberty's tables define it, to correct the OpenSTA installed here.

A liberty ``internal_power`` group gives the energy of one rising and of one falling
transition; a pin that toggles ``d`` times draws ``d`` times their mean. Upstream OpenSTA
computes exactly that (the mean of rise and fall per transition; an output's arcs weighted by
how often each input toggles it, the Boolean difference of the cell's function), but Debian's
OpenSTA (git c018cb2, November 2019) charges a flip-flop's clock pin and a one-input cell's
output twice that, and multi-input cells 2 to 7 times (o41ai_1 the most; see
``benchmarks/opensta_internal_power.py``).

The power step keeps OpenSTA for what it gets right (loads, slews, switching and leakage) and
divides each instance's internal power by its cell's ratio: OpenSTA's figure over the tables'
for that cell alone in a netlist (one output transition per cycle; a sequential cell's clock
pin with its data idle, a ratio of 2 that also divides its data-driven part, where OpenSTA
is 2.3 to 3.6 times the tables' for dfrtp_1: that part stays a little high). No library
evaluates liberty internal power (liberty-parser reads the tables), hence this module.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from liberty.types import Group

from econflow.errors import FormatError, ToolMissingError
from econflow.flow.formats import liberty_function
from econflow.flow.formats.liberty import attribute, group_name, library

REFERENCE_PERIOD_NS = 25.0
REFERENCE_LOAD_PF = 0.005
_NUMBER = r"([-+0-9.eE]+)"
_SEQUENTIAL = ("ff", "latch", "statetable")


def _along(x: np.ndarray, y: np.ndarray, at: float) -> float:
    """Linear interpolation, extrapolated outside the index as a timing engine does."""
    if len(x) == 1:
        return float(y[0])
    k = int(np.clip(np.searchsorted(x, at) - 1, 0, len(x) - 2))
    return float(y[k] + (y[k + 1] - y[k]) * (at - x[k]) / (x[k + 1] - x[k]))


def _lookup(table: Group, slew: float, load: float) -> float:
    values = np.asarray(table.get_array("values"), dtype=float)
    if "index_1" not in [a.name for a in table.attributes]:  # a scalar table
        return float(values.reshape(-1)[0])
    first = np.asarray(table.get_array("index_1")[0], dtype=float)
    if values.shape[0] == 1:
        return _along(first, values.reshape(-1), slew)
    second = np.asarray(table.get_array("index_2")[0], dtype=float)
    return _along(first, np.array([_along(second, row, load) for row in values]), slew)


def mean_energy_pj(group: Group, slew_ns: float, load_pf: float) -> float:
    """Energy per transition (pJ): the mean of an internal-power group's rise and fall."""
    tables = [t for kind in ("rise_power", "fall_power") for t in group.get_groups(kind)]
    return float(np.mean([_lookup(t, slew_ns, load_pf) for t in tables])) if tables else 0.0


def sensitivity(function: str, inputs: list[str], pin: str) -> float:
    """Probability that toggling ``pin`` toggles ``function`` (other inputs at duty 0.5)."""
    expr = liberty_function.parse(function)
    others = [i for i in inputs if i != pin]
    flips = 0
    for bits in itertools.product((False, True), repeat=len(others)):
        values = dict(zip(others, bits, strict=True))
        flips += expr.evaluate(values | {pin: False}) != expr.evaluate(values | {pin: True})
    return flips / 2 ** len(others)


def combinational_w(cell: Group, slew_ns: float, load_pf: float, period_ns: float) -> float:
    """Internal power (W) with each output making one transition per ``period_ns``: per
    output, its arcs' mean energies weighted by their inputs' sensitivities."""
    pins = cell.get_groups("pin")
    inputs = [group_name(p) for p in pins if attribute(p, "direction") == "input"]
    total = 0.0
    for pin in pins:
        function = attribute(pin, "function")
        if attribute(pin, "direction") != "output" or function is None:
            continue
        arcs = [g for g in pin.get_groups("internal_power") if attribute(g, "related_pin")]
        weights = [sensitivity(function, inputs, attribute(g, "related_pin") or "") for g in arcs]
        if not sum(weights):
            continue
        for arc, weight in zip(arcs, weights, strict=True):
            energy = mean_energy_pj(arc, slew_ns, load_pf) * 1e-12
            total += weight / sum(weights) * energy / (period_ns * 1e-9)
    return total


def clock_pin(cell: Group) -> str | None:
    """The sequential cell's clock input (liberty ``clock : true``)."""
    for pin in cell.get_groups("pin"):
        if attribute(pin, "clock") == "true":
            return group_name(pin)
    return None


def clock_pin_w(cell: Group, pin: str, period_ns: float) -> float:
    """A clock pin's internal power: one rising and one falling transition per period."""
    groups = next(p for p in cell.get_groups("pin") if group_name(p) == pin).get_groups(
        "internal_power"
    )
    return sum(2 * mean_energy_pj(g, 0.0, 0.0) for g in groups) * 1e-12 / (period_ns * 1e-9)


def _alone(cell: Group, clock: str | None) -> str:
    """A netlist holding one instance ``u`` of ``cell``, every pin a port (the clock ``clk``)."""
    pins = [(group_name(p), attribute(p, "direction")) for p in cell.get_groups("pin")]
    pins = [(n, d) for n, d in pins if d in ("input", "output")]

    def port(pin: str) -> str:
        return "clk" if pin == clock else f"p_{pin}"

    ports = ", ".join(f"{d} {port(n)}" for n, d in pins)
    connections = ", ".join(f".{n}({port(n)})" for n, _ in pins)
    return f"module c({ports});\n  {group_name(cell)} u ({connections});\nendmodule\n"


def opensta_internal_w(sta: str, liberty: Path, cell: Group, clock: str | None) -> float:
    """OpenSTA's internal power of ``cell`` alone, the way the power step asks for it: every
    pin at one transition per cycle, or, for a sequential cell, its data idle."""
    activity = 1e-12 if clock else 1.0
    script = (
        f"read_liberty {liberty}\nread_verilog c.v\nlink_design c\n"
        f"create_clock -name clk -period {REFERENCE_PERIOD_NS} [get_ports -quiet clk]\n"
        "set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports -quiet clk]]\n"
        f"set_load {REFERENCE_LOAD_PF} [all_outputs]\n"
        f"sta::set_power_global_activity {activity} 0.5\n"
        "report_power -instances [get_cells *] -digits 8\n"
    )
    with tempfile.TemporaryDirectory() as work:
        Path(work, "c.v").write_text(_alone(cell, clock))
        Path(work, "c.tcl").write_text(script)
        try:
            run = subprocess.run(
                [sta, "-no_init", "-exit", "c.tcl"], cwd=work, capture_output=True, text=True
            )
        except FileNotFoundError as exc:
            raise ToolMissingError(f"OpenSTA ({sta}) not found: install Debian's opensta") from exc
    row = rf"^\s*{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+{_NUMBER}\s+u\s*$"
    rows = re.findall(row, run.stdout, re.M)
    if not rows:
        raise FormatError(f"OpenSTA reported no power for {group_name(cell)}: {run.stderr[-300:]}")
    return float(rows[-1][0])


def reference_clock(cell: Group) -> str | None:
    """The clock pin a sequential cell is measured by (None for combinational cells)."""
    return clock_pin(cell) if any(cell.get_groups(k) for k in _SEQUENTIAL) else None


def tables_w(cell: Group) -> float:
    """The tables' internal power of ``cell`` at the reference condition: a sequential cell's
    clock pin, a combinational cell's outputs at one transition per cycle."""
    clock = reference_clock(cell)
    if clock:
        return clock_pin_w(cell, clock, REFERENCE_PERIOD_NS)
    return combinational_w(cell, 0.0, REFERENCE_LOAD_PF, REFERENCE_PERIOD_NS)


def ratios(sta: str, liberty: Path, cells: dict[str, Group]) -> dict[str, float]:
    """Cell name -> OpenSTA's internal power over the tables', for each cell given (1 where
    the tables give none)."""
    found = {}
    for name, cell in cells.items():
        expected = tables_w(cell)
        measured = (
            opensta_internal_w(sta, liberty, cell, reference_clock(cell)) if expected > 0 else 0.0
        )
        found[name] = measured / expected if expected > 0 and measured > 0 else 1.0
    return found


def cached_ratios(sta: str, liberty: Path, used: set[str]) -> dict[str, float]:
    """:func:`ratios` of the ``used`` cells, kept beside ``liberty`` per OpenSTA version
    (``<liberty>.internal_ratios.json``): the power and layout steps of a build, and later
    runs, then spend one OpenSTA run per cell type once instead of every time."""
    cache = liberty.with_suffix(".internal_ratios.json")
    version = _opensta_version(sta)
    known: dict[str, float] = {}
    if cache.is_file():
        saved = json.loads(cache.read_text())
        known = saved["ratios"] if saved.get("opensta") == version else {}
    missing = sorted(used - set(known))
    if missing:
        cells = library(liberty, missing)
        known |= ratios(sta, liberty, {name: cells[name] for name in missing})
        cache.write_text(json.dumps({"opensta": version, "ratios": known}, indent=1) + "\n")
    return {name: known[name] for name in used}


def _opensta_version(sta: str) -> str:
    try:
        run = subprocess.run([sta, "-version"], capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise ToolMissingError(f"OpenSTA ({sta}) not found: install Debian's opensta") from exc
    return run.stdout.strip()
