"""Switching activity from a gate-level simulation's value-change dump.

Counts the 0/1 transitions of every bit of the netlist's own nets while vectors stream, and
turns them into toggles per clock cycle of each cell's outputs: the activity the power figures
are weighted with (``power_model``), measured rather than guessed. The simulation has zero
delays, so glitches are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from econflow.flow.formats.netlist import HIERARCHY_SEPARATOR, NetBit, net_bit


@dataclass
class _Signal:
    bits: list[NetBit]
    aliases: list[list[NetBit]] = field(default_factory=list)  # the same value, elsewhere
    value: str = ""
    toggles: list[int] = field(default_factory=list)
    rises: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Activity:
    cycles: int
    toggles: dict[NetBit, int]
    rises: dict[NetBit, int]  # 0 -> 1 transitions: a clock's edges, whatever the window's ends

    def density(self, bit: NetBit) -> float:
        return self.toggles[bit] / self.cycles


def joined(parts: list[Activity]) -> Activity:
    """Consecutive windows as one."""
    toggles: dict[NetBit, int] = {}
    rises: dict[NetBit, int] = {}
    for part in parts:
        for bit, count in part.toggles.items():
            toggles[bit] = toggles.get(bit, 0) + count
        for bit, count in part.rises.items():
            rises[bit] = rises.get(bit, 0) + count
    return Activity(sum(p.cycles for p in parts), toggles, rises)


_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12, "fs": 1e-15}


def read_vcd(path: Path, cycles: int) -> Activity:
    """Transitions of every dumped bit, from ``$dumpvars`` to ``$dumpoff``."""
    return read_vcd_parts(path, cycles, 1, 0.0)[0]


def read_vcd_parts(path: Path, cycles: int, parts: int, period_ns: float) -> list[Activity]:
    """The same, counted apart in ``parts`` consecutive windows of ``cycles / parts`` clock
    cycles of ``period_ns`` from the ``$dumpvars`` time: the spread between windows measures
    how far the activity (and the power weighted with it) depends on the vectors chosen."""
    signals: dict[str, _Signal] = {}
    tick_s = 1e-12
    scopes: list[str] = []
    root: int | None = None  # depth of the first scope with variables: the design's top
    with path.open() as handle:
        header = ""
        for line in handle:
            header += line if header or line.startswith("$timescale") else ""
            if header and "$end" in header:
                tick_s = _tick_seconds(header)
                header = ""
            if line.startswith("$scope"):
                scopes.append(line.split()[2])
            elif line.startswith("$upscope"):
                scopes.pop()
            elif line.startswith("$var"):
                root = len(scopes) if root is None else root
                prefix = "".join(f"{s}{HIERARCHY_SEPARATOR}" for s in scopes[root:])
                _declare(line.split(), signals, parts, prefix)
            elif line.startswith("$enddefinitions"):
                break
        window = cycles // parts * period_ns * 1e-9 / tick_s
        start, part = None, 0
        for line in handle:
            head = line[:1]
            if head == "#":
                now = int(line[1:])
                start = now if start is None else start
                part = min(parts - 1, int((now - start) // window)) if parts > 1 else 0
            elif head == "$" and line.startswith("$dumpoff"):
                break
            elif head == "b":
                value, ident = line[1:].split()
                _change(signals.get(ident), value, part)
            elif head in "01xz" and line.strip():
                _change(signals.get(line[1:].strip()), head, part)
    lengths = [cycles // parts] * (parts - 1) + [cycles - cycles // parts * (parts - 1)]
    return [
        Activity(
            length,
            {
                bit: signal.toggles[p * len(signal.bits) + k]
                for signal in signals.values()
                for names in (signal.bits, *signal.aliases)
                for k, bit in enumerate(names)
            },
            {
                bit: signal.rises[p * len(signal.bits) + k]
                for signal in signals.values()
                for names in (signal.bits, *signal.aliases)
                for k, bit in enumerate(names)
            },
        )
        for p, length in enumerate(lengths)
    ]


def _tick_seconds(header: str) -> float:
    """``$timescale 1ps $end`` (or over several lines) in seconds."""
    text = header.replace("$timescale", "").replace("$end", "").replace(" ", "").strip()
    number = text.rstrip("afmnpsu")
    return float(number or 1) * _UNITS[text[len(number) :]]


def _declare(words: list[str], signals: dict[str, _Signal], parts: int, prefix: str) -> None:
    """``$var wire 8 ! name [7:0] $end`` (Icarus) or ``$var wire 1 " \\esc[3] $end``, in
    a module instance ``prefix`` (``u_dense_3/``) below the top."""
    width, ident, name = int(words[2]), words[3], words[4]
    name = prefix + name.removeprefix("\\")
    if width == 1:
        bit = net_bit(name) if not words[4].startswith("\\") else (name, None)
        bits = [bit] if bit else []
    else:
        low = int(words[5].strip("[]").split(":")[1]) if len(words) > 6 else 0
        bits = [(name, low + k) for k in range(width)]  # LSB first
    if bits and ident in signals and len(signals[ident].bits) == len(bits):
        signals[ident].aliases.append(bits)  # a module's port: the net it connects to
    elif bits:
        signals[ident] = _Signal(
            bits, toggles=[0] * len(bits) * parts, rises=[0] * len(bits) * parts
        )


def _change(signal: _Signal | None, value: str, part: int) -> None:
    if signal is None:
        return
    width = len(signal.bits)
    new = value.rjust(width, "0" if value[0] in "01" else value[0])[-width:]
    old = signal.value
    if old:
        for k in range(width):
            before, after = old[width - 1 - k], new[width - 1 - k]
            if before != after and before in "01" and after in "01":
                signal.toggles[part * width + k] += 1
                signal.rises[part * width + k] += after == "1"
    signal.value = new


def per_cell(activity: Activity, outputs: dict[str, list[NetBit]]) -> dict[str, float]:
    """Cell -> mean toggles per cycle of its dumped output bits (cells with none left out)."""
    found = {}
    for cell, bits in outputs.items():
        seen = [activity.density(b) for b in bits if b in activity.toggles]
        if seen:
            found[cell] = sum(seen) / len(seen)
    return found


@dataclass(frozen=True)
class CellActivity:
    """What the power figures are weighted with: each cell's output toggles per clock cycle,
    and each flip-flop's clock edges per clock cycle (1 on the free-running clock, less on a
    gated one)."""

    toggles: dict[str, float]
    clocks: dict[str, float]

    def renamed(self, names: dict[str, str]) -> CellActivity:
        """The same activity under new names (new name -> old name)."""
        return CellActivity(
            {new: self.toggles[old] for new, old in names.items() if old in self.toggles},
            {new: self.clocks[old] for new, old in names.items() if old in self.clocks},
        )


def clock_edges(activity: Activity, clocks: dict[str, NetBit]) -> dict[str, float]:
    """Flip-flop -> rising edges of its clock pin per clock cycle."""
    return {cell: activity.rises.get(bit, 0) / activity.cycles for cell, bit in clocks.items()}


def write(cells: CellActivity, path: Path) -> None:
    """One tab-separated line per cell: name, toggles per clock cycle, and for flip-flops
    their clock edges per clock cycle."""
    lines = []
    for cell, d in sorted(cells.toggles.items()):
        clock = f"\t{cells.clocks[cell]:.6g}" if cell in cells.clocks else ""
        lines.append(f"{cell}\t{d:.6g}{clock}\n")
    path.write_text("".join(lines))


def read(path: Path) -> CellActivity:
    toggles, clocks = {}, {}
    for line in path.read_text().splitlines():
        cell, density, *clock = line.split("\t")
        toggles[cell] = float(density)
        if clock:
            clocks[cell] = float(clock[0])
    return CellActivity(toggles, clocks)
