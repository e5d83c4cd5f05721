"""Switching activity from a gate-level simulation's value-change dump.

Counts the 0/1 transitions of every bit of the netlist's own nets while vectors stream, and
turns them into toggles per clock cycle of each cell's outputs: the activity the power figures
are weighted with (``power_model``), measured rather than guessed. The simulation has zero
delays, so glitches are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from econflow.flow.formats.netlist import NetBit, net_bit


@dataclass
class _Signal:
    bits: list[NetBit]
    value: str = ""
    toggles: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Activity:
    cycles: int
    toggles: dict[NetBit, int]

    def density(self, bit: NetBit) -> float:
        return self.toggles[bit] / self.cycles


def read_vcd(path: Path, cycles: int) -> Activity:
    """Transitions of every dumped bit, from ``$dumpvars`` to ``$dumpoff``."""
    signals: dict[str, _Signal] = {}
    with path.open() as handle:
        for line in handle:
            if line.startswith("$var"):
                _declare(line.split(), signals)
            elif line.startswith("$enddefinitions"):
                break
        for line in handle:
            head = line[:1]
            if head == "$" and line.startswith("$dumpoff"):
                break
            if head == "b":
                value, ident = line[1:].split()
                _change(signals.get(ident), value)
            elif head in "01xz" and line.strip():
                _change(signals.get(line[1:].strip()), head)
    toggles = {
        bit: signal.toggles[k] for signal in signals.values() for k, bit in enumerate(signal.bits)
    }
    return Activity(cycles, toggles)


def _declare(words: list[str], signals: dict[str, _Signal]) -> None:
    """``$var wire 8 ! name [7:0] $end`` (Icarus) or ``$var wire 1 " \\esc[3] $end``."""
    width, ident, name = int(words[2]), words[3], words[4]
    if width == 1:
        bit = net_bit(name) if not name.startswith("\\") else (name[1:], None)
        bits = [bit] if bit else []
    else:
        low = int(words[5].strip("[]").split(":")[1]) if len(words) > 6 else 0
        bits = [(name, low + k) for k in range(width)]  # LSB first
    if bits:
        signals[ident] = _Signal(bits, toggles=[0] * len(bits))


def _change(signal: _Signal | None, value: str) -> None:
    if signal is None:
        return
    width = len(signal.bits)
    new = value.rjust(width, "0" if value[0] in "01" else value[0])[-width:]
    old = signal.value
    if old:
        for k in range(width):
            before, after = old[width - 1 - k], new[width - 1 - k]
            if before != after and before in "01" and after in "01":
                signal.toggles[k] += 1
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
    """Flip-flop -> rising edges of its clock pin per clock cycle (two transitions each)."""
    return {
        cell: activity.toggles.get(bit, 0) / (2 * activity.cycles) for cell, bit in clocks.items()
    }


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
