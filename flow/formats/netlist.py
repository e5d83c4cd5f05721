"""The synthesized gate-level netlist (Yosys ``write_verilog -noexpr``) as data: its ports,
cell instances, their connections, and the net bits each cell drives."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from econflow.errors import FormatError

# A net bit: (name, bit index) for a bit of a vector, (name, None) for a scalar net.
NetBit = tuple[str, int | None]

_ATTRIBUTE = re.compile(r"\(\*.*?\*\)", re.DOTALL)
_IDENT = r"(?:\\\S+|[A-Za-z_][\w$]*)"
_INSTANCE = re.compile(rf"^\s*({_IDENT})\s+({_IDENT})\s*\((.*?)\);", re.MULTILINE | re.DOTALL)
_CONNECTION = re.compile(r"\.(\w+)\(\s*(.*?)\s*\)\s*(?:,|$)", re.DOTALL)
_BIT = re.compile(r"^(.*?)\s*\[(\d+)\]$")
_PORT = re.compile(r"^\s*(input|output|inout)\s+(?:\[(\d+):(\d+)\]\s+)?(\S+)\s*;", re.MULTILINE)
_ASSIGN = re.compile(r"^\s*assign\b", re.MULTILINE)


def unescape(name: str) -> str:
    """A Verilog identifier without its escape (``\\a[3] `` -> ``a[3]``)."""
    return name[1:].strip() if name.startswith("\\") else name.strip()


def net_bit(expression: str) -> NetBit | None:
    """The net bit a connection names; None for constants (``1'h0``)."""
    text = expression.strip()
    if not text or "'" in text:
        return None
    if text.startswith("\\"):
        return unescape(text), None
    match = _BIT.match(text)
    if match:
        return match.group(1), int(match.group(2))
    return text, None


@dataclass(frozen=True)
class Instance:
    cell: str
    name: str
    pins: dict[str, str]  # pin -> connection expression


@dataclass(frozen=True)
class Port:
    direction: str  # input, output or inout
    name: str
    msb: int | None  # None for a scalar port
    lsb: int | None

    def bits(self) -> list[NetBit]:
        if self.msb is None or self.lsb is None:
            return [(self.name, None)]
        step = 1 if self.msb >= self.lsb else -1
        return [(self.name, k) for k in range(self.lsb, self.msb + step, step)]


@dataclass(frozen=True)
class Netlist:
    instances: list[Instance]
    ports: list[Port]
    assigns: int  # ``assign`` statements (nets joined without a cell)

    def cell_counts(self) -> Counter[str]:
        return Counter(i.cell for i in self.instances)

    def outputs(self, output_pins: dict[str, frozenset[str]]) -> dict[str, list[NetBit]]:
        """Cell instance -> the net bits its output pins drive."""
        found: dict[str, list[NetBit]] = {}
        for inst in self.instances:
            bits = [
                net_bit(inst.pins.get(pin, "")) for pin in sorted(output_pins.get(inst.cell, ()))
            ]
            found[inst.name] = [b for b in bits if b is not None]
        return found


def read(path: Path, top: str) -> Netlist:
    """Parse the netlist module ``top``."""
    text = _ATTRIBUTE.sub("", path.read_text())
    start = text.find(f"module {top}(")
    if start < 0:
        raise FormatError(f"{path}: no module {top}")
    body = text[start : text.find("endmodule", start)]
    ports = [
        Port(m.group(1), unescape(m.group(4)), *(int(g) if g else None for g in m.group(2, 3)))
        for m in _PORT.finditer(body)
    ]
    instances = [
        Instance(
            m.group(1),
            unescape(m.group(2)),
            {c.group(1): c.group(2) for c in _CONNECTION.finditer(m.group(3))},
        )
        for m in _INSTANCE.finditer(body)
        if m.group(1) not in ("module", "input", "output", "wire", "assign")
    ]
    return Netlist(instances, ports, len(_ASSIGN.findall(body)))
