"""What the flow needs to know about a liberty file's cells: output pins, input pin
capacitances, area, and whether the cell holds state (a fast scan of the text), and each
cell's whole group (liberty-parser)."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from liberty.parser import parse_liberty
from liberty.types import Group

_CELL = re.compile(r'^\s*cell\s*\(\s*"?([^")\s]+)"?\s*\)', re.MULTILINE)
_AREA = re.compile(r"^\s*area\s*:\s*([0-9.eE+-]+)", re.MULTILINE)
_SEQUENTIAL = re.compile(r"^\s*(ff|latch)\s*\(", re.MULTILINE)
_CLOCKED_ON = re.compile(r'^\s*clocked_on\s*:\s*"?(\w+)', re.MULTILINE)
_PIN = re.compile(r'^\s*pin\s*\(\s*"?([^")\s]+)"?\s*\)\s*\{([^{}]*)', re.MULTILINE)
_DIRECTION = re.compile(r'direction\s*:\s*"?(\w+)"?')
_CAPACITANCE = re.compile(r"(?<![_\w])capacitance\s*:\s*([0-9.eE+-]+)")


@dataclass(frozen=True)
class Cell:
    area_um2: float
    outputs: frozenset[str]
    sequential: bool
    clock: str | None  # a flip-flop's clock pin
    capacitance: dict[str, float]  # input pin -> capacitance (the library's unit, pF in sky130)


def cells(liberty: Path) -> dict[str, Cell]:
    """Every cell of an (unzipped) liberty file."""
    text = liberty.read_text()
    starts = [(m.start(), m.group(1)) for m in _CELL.finditer(text)]
    found = {}
    for (start, name), (end, _) in zip(starts, [*starts[1:], (len(text), "")], strict=True):
        area = _AREA.search(text, start, end)
        clocked_on = _CLOCKED_ON.search(text, start, end)
        heads = {m.group(1): m.group(2) for m in _PIN.finditer(text, start, end)}
        direction = {pin: _value(_DIRECTION, head) for pin, head in heads.items()}
        found[name] = Cell(
            area_um2=float(area.group(1)) if area else 0.0,
            outputs=frozenset(p for p, d in direction.items() if d == "output"),
            sequential=_SEQUENTIAL.search(text, start, end) is not None,
            clock=clocked_on.group(1) if clocked_on else None,
            capacitance={
                p: float(_value(_CAPACITANCE, heads[p]) or 0.0)
                for p, d in direction.items()
                if d == "input"
            },
        )
    return found


def _value(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return found.group(1) if found else None


def library(liberty: Path, names: Collection[str] | None = None) -> dict[str, Group]:
    """Cell name -> its liberty group, for an unzipped liberty file; only the cells
    ``names`` lists (those the file has) when given: liberty-parser takes a minute over all
    428 cells of a sky130 corner, a netlist uses about a hundred."""
    text = liberty.read_text()
    if names is not None:
        text = _only(text, set(names))
    return {group_name(c): c for c in parse_liberty(text).get_groups("cell")}


def _only(text: str, names: set[str]) -> str:
    """The library's text with its header and the cell groups of ``names`` alone."""
    starts = [(m.start(), m.group(1)) for m in _CELL.finditer(text)]
    if not starts:
        return text
    end = text.rindex("}")  # the library group's closing brace
    bounds = zip(starts, [s for s, _ in starts[1:]] + [end], strict=True)
    kept = [text[start:stop] for (start, name), stop in bounds if name in names]
    return "".join([text[: starts[0][0]], *kept, text[end:]])


def group_name(group: Group) -> str:
    """A group's first argument: a cell's or a pin's name."""
    return str(group.args[0]).strip('"')


def attribute(group: Group, key: str) -> str | None:
    """A simple attribute's value without its quotes, None when the group has none."""
    return str(group[key]).strip('"') if key in [a.name for a in group.attributes] else None
