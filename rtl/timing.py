"""Cell delays at the timing corner, characterised from the PDK's liberty: what the pipeline
planner (:mod:`econflow.rtl.stages`) turns its gate-level counts into nanoseconds with.

A gate level is a two-input NAND driving two of its kind, at the input slew it produces
itself; a register costs its clock-to-output delay plus the setup time of its data input.
The liberty is read with ``liberty-parser``; the tables are looked up by bilinear
interpolation, as a timing engine does between index points.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from liberty.parser import parse_liberty
from liberty.types import Group

from econflow.errors import FormatError

# The cells the planner's model is counted in (sky130 names; the PDK config may name others).
FANOUT = 2


@dataclass(frozen=True)
class CellDelays:
    """Delays (ns) at one corner."""

    corner: str
    gate_ns: float  # one gate level: a NAND2 driving FANOUT NAND2 inputs
    clock_to_q_ns: float  # the flip-flop's clock-to-output delay at the same load
    setup_ns: float  # its data input's setup time

    @property
    def register_ns(self) -> float:
        return self.clock_to_q_ns + self.setup_ns

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")


def characterise(liberty: Path, corner: str, gate: str, flip_flop: str) -> CellDelays:
    """Delays of ``gate`` (a two-input NAND) and ``flip_flop`` in an unzipped liberty file.

    Raises:
        FormatError: a cell, pin or table the characterisation needs is missing.
    """
    library = parse_liberty(liberty.read_text())
    nand = _cell(library, gate, liberty)
    load = FANOUT * pin_capacitance(nand, "A", liberty)
    gate_ns, slew = _stage(nand, "A", "Y", load, liberty)
    flop = _cell(library, flip_flop, liberty)
    clock = _arc(flop, "Q", "CLK", liberty)
    setup = next(
        (t for t in _timings(flop, "D") if str(t["timing_type"]).strip('"') == "setup_rising"),
        None,
    )
    if setup is None:
        raise FormatError(f"{liberty}: {flip_flop} has no setup_rising arc on D")
    return CellDelays(
        corner=corner,
        gate_ns=round(gate_ns, 4),
        clock_to_q_ns=round(_mean(clock, ("cell_rise", "cell_fall"), slew, load), 4),
        setup_ns=round(_mean(setup, ("rise_constraint", "fall_constraint"), slew, slew), 4),
    )


def stage_ns(cell: Group, related: str, output: str, load: float, path: Path) -> float:
    """The mean rise and fall delay (ns) of ``cell``'s arc ``related`` -> ``output`` driving
    ``load`` (pF), from the input slew the arc itself produces there (a chain of its like).

    Raises:
        FormatError: ``path`` has no such arc.
    """
    return _stage(cell, related, output, load, path)[0]


def _stage(cell: Group, related: str, output: str, load: float, path: Path) -> tuple[float, float]:
    arc = _arc(cell, output, related, path)
    slew = 0.1
    for _ in range(4):  # the slew the cell itself produces at this load
        slew = _mean(arc, ("rise_transition", "fall_transition"), slew, load)
    return _mean(arc, ("cell_rise", "cell_fall"), slew, load), slew


def pin_capacitance(cell: Group, pin: str, path: Path) -> float:
    """An input pin's capacitance (pF)."""
    return float(_pin(cell, pin, path)["capacitance"])


def _cell(library: Group, name: str, path: Path) -> Group:
    for cell in library.get_groups("cell"):
        if str(cell.args[0]).strip('"') == name:
            return cell
    raise FormatError(f"{path}: no cell {name}")


def _pin(cell: Group, pin: str, path: Path) -> Group:
    for group in cell.get_groups("pin"):
        if str(group.args[0]).strip('"') == pin:
            return group
    raise FormatError(f"{path}: {cell.args[0]} has no pin {pin}")


def _timings(cell: Group, pin: str) -> list[Group]:
    for group in cell.get_groups("pin"):
        if str(group.args[0]).strip('"') == pin:
            return group.get_groups("timing")
    return []


def _arc(cell: Group, output: str, related: str, path: Path) -> Group:
    for timing in _timings(cell, output):
        if str(timing["related_pin"]).strip('"') == related:
            return timing
    raise FormatError(f"{path}: {cell.args[0]} has no timing arc {related} -> {output}")


def _mean(timing: Group, tables: tuple[str, ...], first: float, second: float) -> float:
    """The mean of the named tables at (``first``, ``second``) index values."""
    return float(np.mean([_lookup(timing.get_group(t), first, second) for t in tables]))


def _lookup(table: Group, first: float, second: float) -> float:
    x = np.asarray(table.get_array("index_1")[0], dtype=float)
    values = np.asarray(table.get_array("values"), dtype=float)
    if values.shape[0] == 1 or "index_2" not in [a.name for a in table.attributes]:
        return float(np.interp(first, x, values.reshape(-1)))
    y = np.asarray(table.get_array("index_2")[0], dtype=float)
    along = np.array([np.interp(second, y, row) for row in values])
    return float(np.interp(first, x, along))
