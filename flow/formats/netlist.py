"""The synthesized gate-level netlist (Yosys ``write_verilog -noexpr``) as data: its ports,
cell instances, their connections, and the net bits each cell drives.

Modules synthesis kept (the encoder's sums) are flattened on reading: their cells and nets
take the instance path as a prefix (``u_dense_3/_0412_``, the separator Yosys flattens with),
their ports become the nets the instance connects. Written by hand: the netlist is Yosys'
own narrow subset of Verilog (cell instances, bit-blasted connections), and a full Verilog
parser would take minutes on the default design's 1.7 million cells.
"""

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
_MODULE = re.compile(r"^module\s+(\S+?)\s*\(.*?\);(.*?)^endmodule", re.MULTILINE | re.DOTALL)
_WIRE = re.compile(r"^\s*wire\s+\[(\d+):(\d+)\]\s+(\S+)\s*;", re.MULTILINE)
_SLICE = re.compile(r"^(\S+?)\s*\[(\d+):(\d+)\]$")
_CONSTANT = re.compile(r"^(\d+)'([bhd])([0-9a-fA-FxXzZ_]+)$")
HIERARCHY_SEPARATOR = "/"


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
    scopes: tuple[str, ...] = ()  # the module instances flattened, as paths from the top

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


@dataclass(frozen=True)
class Module:
    """A module of the netlist as written: ports, instances (cells or modules), assigns."""

    ports: list[Port]
    instances: list[Instance]
    assigns: int
    vectors: dict[str, tuple[int, int]]  # vector -> (msb, lsb)

    def bits(self, expression: str) -> list[str]:
        """The single-bit expressions of a connection in this module (see :func:`bits_of`)."""
        return bits_of(expression, self.vectors)


def modules(text: str) -> dict[str, Module]:
    """Every module of a netlist's text."""
    bare = _ATTRIBUTE.sub("", text)
    return {m.group(1): _module(m.group(2)) for m in _MODULE.finditer(bare)}


def module_body(text: str, name: str) -> tuple[int, int]:
    """Where module ``name``'s body starts and ends (at its ``endmodule``) in ``text``."""
    start = text.find(f"module {name}(")
    if start < 0:
        raise FormatError(f"no module {name}")
    return start, text.find("endmodule", start)


def instance_spans(text: str, start: int, end: int) -> list[tuple[Instance, int, int]]:
    """The instances between ``start`` and ``end`` of ``text``, each with where its
    statement starts and ends."""
    found = []
    for m in _INSTANCE.finditer(text, start, end):
        if m.group(1) in ("module", "input", "output", "wire", "assign"):
            continue
        pins = {c.group(1): c.group(2) for c in _CONNECTION.finditer(m.group(3))}
        found.append((Instance(m.group(1), unescape(m.group(2)), pins), m.start(1), m.end()))
    return found


def read(path: Path, top: str) -> Netlist:
    """Parse the netlist module ``top``, with the modules it instantiates flattened into it."""
    parsed = modules(path.read_text())
    if top not in parsed:
        raise FormatError(f"{path}: no module {top}")
    flat: list[Instance] = []
    scopes: list[str] = []
    for inst in parsed[top].instances:
        if inst.cell in parsed:
            flat += _flattened(inst, parsed, path, scopes, parsed[top])
        else:
            flat.append(inst)
    return Netlist(flat, parsed[top].ports, parsed[top].assigns, tuple(scopes))


def _module(body: str) -> Module:
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
    vectors = {
        unescape(m.group(3)): (int(m.group(1)), int(m.group(2))) for m in _WIRE.finditer(body)
    }
    single = {name: f"{name}[{msb}]" for name, (msb, lsb) in vectors.items() if msb == lsb}
    if single:  # ``wire [0:0] en;`` read as ``.A(en)``: the bit, as ``en[0]`` elsewhere
        instances = [
            Instance(i.cell, i.name, {p: single.get(e.strip(), e) for p, e in i.pins.items()})
            for i in instances
        ]
    return Module(ports, instances, len(_ASSIGN.findall(body)), vectors)


def _flattened(
    inst: Instance,
    parsed: dict[str, Module],
    path: Path,
    scopes: list[str],
    outside: Module,
) -> list[Instance]:
    """The cells of module instance ``inst``, renamed and connected to the instance's nets;
    ``scopes`` collects the instance paths; ``outside`` is the module holding ``inst``."""
    scopes.append(inst.name)
    module = parsed[inst.cell]
    if module.assigns:
        raise FormatError(f"{path}: module {inst.cell} joins nets with assign statements")
    outer: dict[NetBit, str] = {}
    for port in module.ports:
        bits = port.bits()
        connected = outside.bits(inst.pins.get(port.name, ""))
        if len(connected) != len(bits):
            raise FormatError(
                f"{path}: instance {inst.name} connects {len(connected)} bits to port "
                f"{port.name} of {inst.cell} ({len(bits)} bits)"
            )
        outer.update(zip(bits, connected, strict=True))
    prefix = inst.name + HIERARCHY_SEPARATOR

    def rename(expression: str) -> str:
        bit = net_bit(expression)
        if bit is None:
            return expression
        if bit in outer:
            return outer[bit]
        name, index = bit
        return f"\\{prefix}{name} " if index is None else f"{prefix}{name}[{index}]"

    found = []
    for cell in module.instances:
        renamed = Instance(
            cell.cell, prefix + cell.name, {p: rename(e) for p, e in cell.pins.items()}
        )
        found += (
            _flattened(renamed, parsed, path, scopes, module) if cell.cell in parsed else [renamed]
        )
    return found


def bits_of(expression: str, vectors: dict[str, tuple[int, int]] | None = None) -> list[str]:
    """The single-bit expressions of a connection, least significant first: a concatenation
    of bits, slices and constants as Yosys writes it, a slice, a bit, a whole vector of
    ``vectors`` (name -> msb, lsb), or nothing."""
    text = expression.strip()
    if not text:
        return []
    if text.startswith("{") and text.endswith("}"):
        parts = _split(text[1:-1])
        return [b for part in reversed(parts) for b in bits_of(part, vectors)]
    vector = (vectors or {}).get(text)
    if vector is not None:
        return _range(text, *vector)
    piece = _SLICE.match(text)
    if piece and not text.startswith("\\"):
        return _range(piece.group(1), int(piece.group(2)), int(piece.group(3)))
    constant = _CONSTANT.match(text)
    if constant:
        width, base, digits = int(constant.group(1)), constant.group(2), constant.group(3)
        value = int(digits.replace("_", ""), {"b": 2, "h": 16, "d": 10}[base])
        return [f"1'b{(value >> k) & 1}" for k in range(width)]
    return [text]


def _range(name: str, msb: int, lsb: int) -> list[str]:
    step = 1 if msb >= lsb else -1
    return [f"{name}[{k}]" for k in range(lsb, msb + step, step)]


def _split(text: str) -> list[str]:
    """The comma-separated items of a concatenation's inside (escaped names end at a space)."""
    items, current, depth, escaped = [], [], 0, False
    for ch in text:
        if escaped:
            escaped = not ch.isspace()
        elif ch == "\\":
            escaped = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    items.append("".join(current).strip())
    return [item for item in items if item]
