"""Which block of the encoder each cell of the synthesized netlist belongs to, for the power
breakdown: configuration registers, clock gating, pipeline registers, voters, normalizer,
conv and dense products and sums, control.

Synthesis keeps the names of registers but not of the logic between them, so the logic is
attributed by where its data comes from. The RTL keeps two nets through synthesis for this
(``keep``): the normalized inputs ``x`` and the conv outputs ``c``; with the input charges
they split the datapath into normalizer, conv and dense. Labels flow forward from those
nets and from the registers, whose names say what they hold, one cell after the other in
topological order: a cell fed by the datapath takes the latest block among its inputs; a
cell fed only by the three copies of TMR registers is a voter; one fed by configuration
values or ports otherwise computes the configuration registers' next state or read-back;
the rest (scrub counter, TMR status) is control.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable

from econflow.flow.formats.liberty import Cell
from econflow.flow.formats.netlist import NetBit, Netlist, net_bit
from econflow.rtl import naming
from econflow.rtl.artefacts import RtlDesign

CONFIG = "configuration registers"
CLOCK_GATING = "clock gating"
PIPELINE = "pipeline registers"
VOTERS = "voters"
NORMALIZER = "normalizer"
CONV = "conv products and sums"
DENSE = "dense products and sums"
CONTROL = "control"
BLOCKS = (NORMALIZER, CONV, DENSE, PIPELINE, CONFIG, VOTERS, CLOCK_GATING, CONTROL)
DATA = (NORMALIZER, CONV, DENSE)  # in datapath order
BOUNDARIES = {"x": CONV, "c": DENSE}  # kept nets: the block their readers belong to
_BOUNDARY = re.compile(r"^(x|c)_[ns]\d+(\[\d+\])?$")
_INDEX = re.compile(r"\[\d+\]$")
_COPY = "copy"  # label of a TMR copy's output
_VOTED = "voted"  # label of a configuration register's voted value
_PORT = "port"  # label of a configuration port
_NONE = "none"  # not reached
# Labels from lowest to highest: a cell's outputs take the highest of its inputs'.
_RANK = (_NONE, _COPY, _PORT, _VOTED, CONTROL, NORMALIZER, CONV, DENSE)
_ORDER = {label: k for k, label in enumerate(_RANK)}


def attribute(
    netlist: Netlist, cells: dict[str, Cell], design: RtlDesign, clock_gate: str | None
) -> dict[str, str]:
    """Instance -> block, for every cell of ``netlist``."""
    config = {r.name for r in design.registers if r.kind == "config"}
    protected = {r.name for r in design.registers if r.protected}
    status = {r.name for r in design.registers if r.kind == "status"}
    labels: dict[NetBit, str] = {}
    for port in netlist.ports:
        if port.direction == "input":
            label = NORMALIZER if port.name == "charges" else _PORT
            labels.update(dict.fromkeys(port.bits(), label))
    blocks: dict[str, str] = {}
    outputs: dict[str, list[NetBit]] = {}
    waiting: dict[str, list[NetBit]] = {}
    for inst in netlist.instances:
        cell = cells[inst.cell]
        outputs[inst.name] = _bits(inst.pins, cell.outputs)
        if inst.cell == clock_gate:
            blocks[inst.name] = CLOCK_GATING
            labels.update(dict.fromkeys(outputs[inst.name], CONTROL))
            continue
        register = _register(inst.name)
        if cell.sequential and (register in config or register in status):
            blocks[inst.name] = CONFIG if register in config else CONTROL
            held = (_COPY if register in protected else _VOTED) if register in config else CONTROL
            labels.update(dict.fromkeys(outputs[inst.name], held))
            continue
        inputs = {pin for pin in inst.pins if pin not in cell.outputs and pin != cell.clock}
        waiting[inst.name] = _bits(inst.pins, inputs)
    driven = {b for bits in outputs.values() for b in bits}
    for b in driven:
        boundary = _BOUNDARY.match(b[0])
        if boundary:
            labels[b] = BOUNDARIES[boundary.group(1)]
    _propagate(waiting, outputs, labels, blocks, cells, netlist)
    return blocks


def _bits(pins: dict[str, str], names: Iterable[str]) -> list[NetBit]:
    found = (net_bit(pins.get(pin, "")) for pin in names)
    return [b for b in found if b is not None]


def _register(instance: str) -> str:
    """The register bank a flip-flop's name says it belongs to (Yosys keeps the instance
    path, ``r_<bank>/copy_a[3]$...``, or names it after the port it drives)."""
    base = instance.split("$")[0].split("/")[0]
    return _INDEX.sub("", base).removeprefix(naming.REGISTER_PREFIX)


def _propagate(
    waiting: dict[str, list[NetBit]],
    outputs: dict[str, list[NetBit]],
    labels: dict[NetBit, str],
    blocks: dict[str, str],
    cells: dict[str, Cell],
    netlist: Netlist,
) -> None:
    """Label the remaining cells until nothing changes: a cell's outputs carry the highest
    label among its inputs (``RANK``), copies counting as configuration values, so labels
    only rise and registers holding their value through a multiplexer settle too."""
    fixed = set(labels)
    readers: dict[NetBit, list[str]] = {}
    for name, ins in waiting.items():
        for b in ins:
            readers.setdefault(b, []).append(name)
    kinds = {i.name: cells[i.cell] for i in netlist.instances}
    queue = deque(waiting)
    queued = set(waiting)
    while queue:
        name = queue.popleft()
        queued.discard(name)
        label = _highest(labels.get(b) for b in waiting[name])
        if label is None:
            continue
        for b in outputs[name]:
            if b in fixed or _ORDER[label] <= _ORDER[labels.get(b, _NONE)]:
                continue
            labels[b] = label
            for reader in readers.get(b, ()):
                if reader not in queued:
                    queue.append(reader)
                    queued.add(reader)
    for name, ins in waiting.items():
        blocks[name] = _block([labels.get(b, _NONE) for b in ins], kinds[name])


def _highest(inputs: Iterable[str | None]) -> str | None:
    found = [_VOTED if label == _COPY else label for label in inputs if label is not None]
    return max(found, key=_ORDER.__getitem__) if found else None


def _block(inputs: list[str], cell: Cell) -> str:
    """A cell's block from its inputs' labels."""
    data = [label for label in inputs if label in DATA]
    if data:
        return PIPELINE if cell.sequential else max(data, key=DATA.index)
    if cell.sequential:
        return CONTROL
    if inputs and all(label == _COPY for label in inputs):
        return VOTERS
    if any(label in (_VOTED, _PORT, _COPY) for label in inputs):
        return CONFIG
    return CONTROL
