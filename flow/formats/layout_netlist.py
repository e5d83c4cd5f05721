"""The synthesized netlist as the layout tools take it: a BLIF of cells and plain net names
for qflow's ``blif2cel``, and the same netlist in Verilog under the instance names the
placement gives the cells, for timing and power after layout.

Yosys' names (``\\r_conv_w_0.copy_a[0]$_DFF_PN0_``) do not survive graywolf, place2def and
qrouter, so internal nets become ``n<k>`` and instances take blif2cel's names; the instance
map ties each back to its synthesized name (the gate-level toggles are keyed by those).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from econflow.errors import FormatError
from econflow.flow.formats.netlist import NetBit, Netlist, net_bit

_CEL_CELL = re.compile(r"^cell \d+ (\S+)$", re.MULTILINE)


class LayoutNetlistError(FormatError):
    """The netlist has something the layout tools cannot take."""


@dataclass(frozen=True)
class LayoutNetlist:
    netlist: Netlist
    top: str
    nets: dict[NetBit, str]  # every connected net bit -> its layout name

    def blif(self) -> str:
        inputs = [self.nets.get(b, bit_name(b)) for p in self._ports("input") for b in p.bits()]
        outputs = [self.nets.get(b, bit_name(b)) for p in self._ports("output") for b in p.bits()]
        lines = [f".model {self.top}", ".inputs " + " ".join(inputs)]
        lines.append(".outputs " + " ".join(outputs))
        for inst in self.netlist.instances:
            pins = " ".join(f"{pin}={name}" for pin, name in self._pins(inst.pins))
            lines.append(f".gate {inst.cell} {pins}")
        lines.append(".end")
        return "\n".join(lines) + "\n"

    def verilog(self, names: list[str]) -> str:
        """The netlist with instance ``k`` named ``names[k]`` (blif2cel's order)."""
        if len(names) != len(self.netlist.instances):
            raise LayoutNetlistError(
                f"placement has {len(names)} cells, the netlist {len(self.netlist.instances)}"
            )
        ports = [p.name for p in self.netlist.ports]
        lines = [f"module {self.top}({', '.join(ports)});"]
        for p in self.netlist.ports:
            width = f"[{p.msb}:{p.lsb}] " if p.msb is not None else ""
            lines.append(f"  {p.direction} {width}{p.name};")
        port_bits = {b for p in self.netlist.ports for b in p.bits()}
        internal = sorted({n for b, n in self.nets.items() if b not in port_bits}, key=_natural)
        lines.extend(f"  wire {n};" for n in internal)
        for inst, name in zip(self.netlist.instances, names, strict=True):
            pins = ", ".join(f".{pin}({net})" for pin, net in self._pins(inst.pins))
            lines.append(f"  {inst.cell} {name} ({pins});")
        lines.append("endmodule")
        return "\n".join(lines) + "\n"

    def instance_map(self, names: list[str]) -> dict[str, str]:
        """Layout instance name -> synthesized instance name."""
        return {n: inst.name for n, inst in zip(names, self.netlist.instances, strict=True)}

    def _ports(self, direction: str) -> list:
        return [p for p in self.netlist.ports if p.direction == direction]

    def _pins(self, pins: dict[str, str]) -> list[tuple[str, str]]:
        found = []
        for pin, expression in pins.items():
            bit = net_bit(expression)
            if bit is not None:
                found.append((pin, self.nets[bit]))
        return found


def build(netlist: Netlist, top: str) -> LayoutNetlist:
    """Name every net: port bits keep their names (``charges[3]``), the rest become ``n<k>``.

    Raises:
        LayoutNetlistError: ``assign`` statements, constant or inout connections, which
        neither blif2cel nor graywolf can place.
    """
    if netlist.assigns:
        raise LayoutNetlistError(
            f"{netlist.assigns} assign statement(s) join nets without a cell; synthesis must "
            "buffer them for placement"
        )
    if any(p.direction == "inout" for p in netlist.ports):
        raise LayoutNetlistError("inout ports cannot be placed as pins here")
    nets: dict[NetBit, str] = {b: bit_name(b) for p in netlist.ports for b in p.bits()}
    for inst in netlist.instances:
        for pin, expression in inst.pins.items():
            if not expression.strip():
                continue
            bit = net_bit(expression)
            if bit is None:
                raise LayoutNetlistError(
                    f"{inst.name} pin {pin} is tied to the constant {expression}; synthesis "
                    "must use tie cells"
                )
            if bit not in nets:
                nets[bit] = f"n{len(nets)}"
    return LayoutNetlist(netlist, top, nets)


def cel_instances(cel: str) -> list[str]:
    """Instance names in a blif2cel ``.cel`` file, in netlist order."""
    return _CEL_CELL.findall(cel)


def bit_name(bit: NetBit) -> str:
    """A net bit's name in the layout netlist and the DEF (``charges[3]``)."""
    name, index = bit
    return name if index is None else f"{name}[{index}]"


def _natural(name: str) -> tuple[str, int]:
    match = re.match(r"^(\D*)(\d*)$", name)
    if match is None:
        return name, 0
    return match.group(1), int(match.group(2) or 0)
