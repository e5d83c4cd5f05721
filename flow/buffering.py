"""Buffer trees for the nets that drive many pins, built on the placement: the clock tree, and
the high-fanout control nets (reset, write enables) with it.

Each net with more sinks than ``max_fanout`` is split where its sinks lie: they are halved at
the median along the longer side of their bounding box until no group has more than
``max_fanout``, a buffer goes to each group's centroid (the row legalizer finds the spot), and
the buffers are grouped the same way, level by level, until the driver drives at most
``max_fanout``. Every sink is then the same number of buffers from the driver and each group is
compact, which keeps the clock skew small. Clock nets (a sink pin of ``USE CLOCK`` in the cell
LEF) take the clock buffer, other nets the plain one.

Gated clocks are balanced too: the tree behind each clock gate is built first, and the gate's
clock pin joins its parent's tree at the level whose delay matches the gate's own delay and
its tree's (``ClockDelays``, from the liberty); where the gates are slower than the whole
tree, clock buffers in a chain above it make up the rest, so that flip-flops behind a gate and
those clocked directly see the clock edge at about the same time.

Written by hand: SiliconCompiler's clock tree synthesis is OpenROAD's, which is not installable
here, and qflow's ``blifFanout`` buffers the netlist before placement, blind to where the sinks
will be.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from econflow.errors import FormatError
from econflow.flow.formats import defdata, lef, liberty
from econflow.flow.formats.activity import CellActivity
from econflow.flow.formats.defdata import DefError
from econflow.flow.formats.layout_netlist import bit_name
from econflow.flow.formats.netlist import Netlist
from econflow.flow.legalizer import Rows
from econflow.pdk import BufferTrees, ClockGate
from econflow.rtl import timing

_NETS = re.compile(r"^NETS \d+ ;\n(.*?)^END NETS", re.MULTILINE | re.DOTALL)
_INSTANCE = re.compile(r"^  (\S+) (\S+) \((.*)\);$", re.MULTILINE)
_CONNECTION = re.compile(r"\.(\w+)\(([^()]*)\)")

Pin = tuple[str, str]  # (instance, pin); ("PIN", port) for a port of the design


@dataclass(frozen=True)
class Inserted:
    """A buffer a tree added: the net it repeats, whether that is a clock, the net's driver
    (an instance, or None for a port) and the original sinks it drives through its subtree."""

    name: str
    net: str
    clock: bool
    driver: str | None
    sinks: tuple[str, ...]


@dataclass(frozen=True)
class Directions:
    """Where a net's driver is: each macro's output pins and clock pins (cell LEF), and the
    design's input ports."""

    outputs: dict[str, set[str]]
    clocks: dict[str, set[str]]
    inputs: set[str]


class ClockDelays(BaseModel):
    """What a clock tree is balanced with (ns, at the timing corner): a clock buffer, and the
    clock gate from its clock to its gated clock, each driving ``max_fanout`` clock buffers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    buffer_ns: float = Field(gt=0)
    gate_ns: float = Field(ge=0)
    gate: ClockGate


def clock_delays(liberty_file: Path, trees: BufferTrees, gate: ClockGate) -> ClockDelays:
    """The delays from an unzipped liberty file.

    Raises:
        FormatError: the file lacks the clock buffer, the clock gate or an arc of theirs.
    """
    buffer = trees.clock_buffer
    cells = liberty.library(liberty_file, {buffer.cell, gate.cell})
    for name in (buffer.cell, gate.cell):
        if name not in cells:
            raise FormatError(f"{liberty_file}: no cell {name} (the clock tree's delays)")
    load = trees.max_fanout * timing.pin_capacitance(cells[buffer.cell], buffer.input, liberty_file)
    return ClockDelays(
        buffer_ns=round(
            timing.stage_ns(cells[buffer.cell], buffer.input, buffer.output, load, liberty_file), 4
        ),
        gate_ns=round(
            timing.stage_ns(cells[gate.cell], gate.clock, gate.gated, load, liberty_file), 4
        ),
        gate=gate,
    )


def directions(cell_lef: str, design: Netlist) -> Directions:
    outputs, clocks = lef.pin_roles(cell_lef)
    inputs = {bit_name(b) for p in design.ports if p.direction == "input" for b in p.bits()}
    return Directions(outputs, clocks, inputs)


def build(
    rows: Rows,
    def_text: str,
    verilog: str,
    cells: Directions,
    settings: BufferTrees,
    delays: ClockDelays | None = None,
) -> tuple[str, str, list[Inserted]]:
    """The DEF and the layout netlist with every net above ``max_fanout`` behind a buffer
    tree, and the clock trees balanced through the clock gates with ``delays``; the buffers
    are placed in ``rows``."""
    connected = defdata.net_pins(def_text)
    changed: dict[str, list[Pin]] = {}
    inserted: list[Inserted] = []
    macro_of = {name: cell.macro for name, cell in rows.cells.items()}
    gate = delays.gate if delays else None
    latency: dict[Pin, float] = {}  # a clock gate's clock pin -> the delay behind it (ns)
    gated_first = sorted(connected.items(), key=lambda item: not _gated(item[1], macro_of, gate))
    for net, pins in gated_first:
        driver = next((p for p in pins if _drives(p, macro_of, cells)), None)
        if driver is None:
            continue
        sinks = [p for p in pins if p != driver and p[0] != "PIN"]
        clock = any(pin in cells.clocks.get(macro_of[i], ()) for i, pin in sinks)
        behind = {p: latency[p] for p in sinks if p in latency} if clock else {}
        levels = 0
        if len(sinks) > settings.max_fanout or behind:
            ports = [p for p in pins if p != driver and p[0] == "PIN"]  # stay on the net
            tree = _Tree(rows, net, driver, clock, settings)
            changed.update(tree.grow(sinks, behind, delays.buffer_ns if delays else 0.0))
            changed[net] += ports
            inserted += tree.inserted
            levels = tree.levels
        if delays and gate and _gated(pins, macro_of, gate):
            latency[(driver[0], gate.clock)] = delays.gate_ns + levels * delays.buffer_ns
    connected.update(changed)
    return (
        _write_nets(def_text, connected),
        _rewire(verilog, changed, inserted, settings),
        inserted,
    )


def with_buffers(cells: CellActivity, inserted: list[Inserted]) -> CellActivity:
    """The activity with the tree buffers': a clock buffer toggles twice per edge its fastest
    flip-flop takes, another buffer as the net's driver (0 for a port: reset and
    configuration inputs hold still while the encoder runs)."""
    toggles = dict(cells.toggles)
    for b in inserted:
        if b.clock:
            edges = [cells.clocks[s] for s in b.sinks if s in cells.clocks]
            toggles[b.name] = 2 * max(edges, default=1.0)
        else:
            toggles[b.name] = cells.toggles.get(b.driver, 0.0) if b.driver else 0.0
    return CellActivity(toggles, cells.clocks)


def _gated(pins: list[Pin], macro_of: dict[str, str], gate: ClockGate | None) -> bool:
    """Whether a clock gate's gated clock drives the net."""
    return gate is not None and any(
        pin == gate.gated and macro_of.get(instance) == gate.cell for instance, pin in pins
    )


def _drives(pin: Pin, macro_of: dict[str, str], cells: Directions) -> bool:
    instance, name = pin
    if instance == "PIN":
        return name in cells.inputs
    return name in cells.outputs.get(macro_of.get(instance, ""), ())


class _Tree:
    """One net's buffer tree, grown level by level from the sinks up."""

    def __init__(
        self, rows: Rows, net: str, driver: Pin, clock: bool, settings: BufferTrees
    ) -> None:
        self.rows, self.net, self.driver, self.clock = rows, net, driver, clock
        self.cell = settings.clock_buffer if clock else settings.buffer
        self.max_fanout = settings.max_fanout
        self.stem = re.sub(r"\W", "_", net)
        self.inserted: list[Inserted] = []
        self.levels = 0

    def grow(
        self, sinks: list[Pin], behind: dict[Pin, float], stage_ns: float
    ) -> dict[str, list[Pin]]:
        """The nets of the tree, level by level from the sinks up; a sink with a delay
        ``behind`` it (a clock gate's clock pin) joins at the level of ``stage_ns`` buffers
        nearest that delay, and the tree grows (a chain where it has one node left) until the
        last has joined."""
        nodes = [(pin, self._centre(pin[0]), (pin[0],)) for pin in sinks if pin not in behind]
        waiting = sorted(behind, key=behind.__getitem__, reverse=True)
        changed: dict[str, list[Pin]] = {}
        level = 0
        while True:
            while waiting and behind[waiting[-1]] <= (level + 0.5) * stage_ns:
                pin = waiting.pop()
                nodes.append((pin, self._centre(pin[0]), (pin[0],)))
            if len(nodes) <= self.max_fanout and not (waiting and nodes):
                nodes += [(pin, self._centre(pin[0]), (pin[0],)) for pin in reversed(waiting)]
                break
            nodes_above = []
            for k, group in enumerate(_groups(nodes, self.max_fanout)):
                name = f"{self.stem}_buf{level}_{k}"
                out = f"{self.stem}_b{level}_{k}"
                x = sum(c[0] for _, c, _ in group) / len(group)
                y = sum(c[1] for _, c, _ in group) / len(group)
                self._place(name, x, y)
                changed[out] = [(name, self.cell.output), *(pin for pin, _, _ in group)]
                below = tuple(s for _, _, subtree in group for s in subtree)
                driver = None if self.driver[0] == "PIN" else self.driver[0]
                self.inserted.append(Inserted(name, self.net, self.clock, driver, below))
                nodes_above.append(((name, self.cell.input), self._centre(name), below))
            nodes = nodes_above
            level += 1
        self.levels = level
        changed[self.net] = [self.driver, *(pin for pin, _, _ in nodes)]
        return changed

    def _centre(self, instance: str) -> tuple[float, float]:
        box = self.rows.box(instance)
        return (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2

    def _place(self, name: str, x: float, y: float) -> None:
        width = self.rows.width_of(self.cell.cell)
        corner = round(x - width / 2), round(y - self.rows.height / 2)
        move = self.rows.insertion(self.cell.cell, *corner)
        if move is None:
            raise DefError(f"no row has room for a buffer of net {self.net}: the core is too full")
        self.rows.apply(name, self.cell.cell, move)


def _groups(
    nodes: list[tuple[Pin, tuple[float, float], tuple[str, ...]]], max_fanout: int
) -> list[list[tuple[Pin, tuple[float, float], tuple[str, ...]]]]:
    """Halve at the median of the longer side until every group has at most ``max_fanout``."""
    if len(nodes) <= max_fanout:
        return [nodes]
    xs = [c[0] for _, c, _ in nodes]
    ys = [c[1] for _, c, _ in nodes]
    axis = 0 if max(xs) - min(xs) >= max(ys) - min(ys) else 1
    ordered = sorted(nodes, key=lambda n: n[1][axis])
    half = math.ceil(len(ordered) / 2)
    return _groups(ordered[:half], max_fanout) + _groups(ordered[half:], max_fanout)


def _write_nets(def_text: str, connected: dict[str, list[Pin]]) -> str:
    """The DEF with its NETS section written anew, in place2def's layout."""
    body = "".join(
        "\n".join([f"- {net}", *(f"  ( {i} {p} )" for i, p in pins)]) + " ;\n"
        for net, pins in connected.items()
    )
    section = _NETS.search(def_text)
    if section is None:
        raise DefError("no NETS section")
    return (
        f"{def_text[: section.start()]}NETS {len(connected)} ;\n{body}{def_text[section.end(1) :]}"
    )


def _rewire(
    verilog: str, changed: dict[str, list[Pin]], inserted: list[Inserted], settings: BufferTrees
) -> str:
    """The netlist with the sinks moved to their buffers' nets, the buffers and their nets."""
    net_of = {pin: net for net, pins in changed.items() for pin in pins}

    def instance(m: re.Match[str]) -> str:
        name = m.group(2)
        pins = _CONNECTION.sub(
            lambda c: f".{c.group(1)}({net_of.get((name, c.group(1)), c.group(2))})", m.group(3)
        )
        return f"  {m.group(1)} {name} ({pins});"

    text = _INSTANCE.sub(instance, verilog)
    added = [net for net in changed if net not in {b.net for b in inserted}]
    wires = "".join(f"  wire {net};\n" for net in added)
    buffers = ""
    for b in inserted:
        cell = settings.clock_buffer if b.clock else settings.buffer
        into = net_of[(b.name, cell.input)]
        out = net_of[(b.name, cell.output)]
        buffers += f"  {cell.cell} {b.name} (.{cell.input}({into}), .{cell.output}({out}));\n"
    end = text.rindex("endmodule")
    first = _INSTANCE.search(text)
    at = first.start() if first else end
    return text[:at] + wires + text[at:end] + buffers + text[end:]
