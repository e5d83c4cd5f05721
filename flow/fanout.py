"""Buffer trees on the top module's nets that fan out into the kept sum modules.

Yosys maps each kept module once and buffers the nets inside it, but a net of the top module
that feeds many module instances reaches their inputs unbuffered: ABC sees the ports, not the
pins behind them. On the default design one conv output drove all 16 dense sums, 160 pins and
0.6 pF, 17 ns at the slow corner. This pass adds up the input capacitance behind every input
port bit of the kept modules and splits each top-level net above ``max_load`` into groups of
instances, each behind a buffer from the PDK config, in as many levels as the load needs.
Written by hand: Yosys has no buffering pass, and OpenROAD's ``repair_design`` is not
installable here.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from econflow.flow.formats import netlist
from econflow.flow.formats.liberty import Cell
from econflow.flow.formats.netlist import Instance, Module, NetBit
from econflow.pdk import Buffer

Load = tuple[int, str, int]  # (instance index in the top module, port, bit)
Statement = tuple[Instance, int, int]  # an instance and where its text starts and ends


def buffer(path: Path, top: str, cell: Buffer, max_load: float, cells: dict[str, Cell]) -> int:
    """Rewrite the netlist at ``path`` with its top module's nets into kept modules buffered
    (``max_load`` in the liberty's capacitance unit, ``cells`` the liberty's); return how
    many buffers went in."""
    text = path.read_text()
    modules = netlist.modules(text)
    behind = {name: _port_loads(name, modules, cells) for name in modules}
    body_start, body_end = netlist.module_body(text, top)
    statements = netlist.instance_spans(text, body_start, body_end)
    readers: dict[NetBit, list[tuple[Load, float]]] = defaultdict(list)
    fixed: dict[NetBit, float] = defaultdict(float)  # pins of the top module's own cells
    for k, (inst, _, _) in enumerate(statements):
        for port, expression in inst.pins.items():
            for index, bit_expression in enumerate(modules[top].bits(expression)):
                bit = netlist.net_bit(bit_expression)
                if bit is None:
                    continue
                if inst.cell in modules:
                    load = behind[inst.cell].get((port, index), 0.0)
                    if load:
                        readers[bit].append(((k, port, index), load))
                else:
                    fixed[bit] += cells[inst.cell].capacitance.get(port, 0.0)
    buffer_load = cells[cell.cell].capacitance[cell.input]
    renamed: dict[int, dict[tuple[str, int], str]] = {}
    added: list[str] = []
    for bit, loads in readers.items():
        if fixed[bit] + sum(load for _, load in loads) <= max_load:
            continue
        groups = _groups(loads, max_load)
        leaves = [f"{_name(bit)}$fanout{g}" for g in range(len(groups))]
        for name, members in zip(leaves, groups, strict=True):
            for k, port, index in members:
                renamed.setdefault(k, {})[(port, index)] = f"\\{name} "
        per_driver = max(1, int(max_load // buffer_load))
        added += _tree(bit, leaves, fixed[bit], per_driver, buffer_load, max_load, cell)
    if not added:
        return 0
    path.write_text(_rewritten(text, statements, renamed, added, body_end, modules[top]))
    return len(added)


def _port_loads(
    name: str, modules: dict[str, Module], cells: dict[str, Cell]
) -> dict[tuple[str, int], float]:
    """(port, bit) -> the input capacitance behind that input bit of module ``name``."""
    module = modules[name]
    index = {}
    for port in module.ports:
        if port.direction == "input":
            for k, bit in enumerate(port.bits()):
                index[bit] = (port.name, k)
    found: dict[tuple[str, int], float] = defaultdict(float)
    for inst in module.instances:
        inner = _port_loads(inst.cell, modules, cells) if inst.cell in modules else None
        for pin, expression in inst.pins.items():
            for k, bit_expression in enumerate(module.bits(expression)):
                bit = netlist.net_bit(bit_expression)
                if bit not in index:
                    continue
                if inner is not None:
                    found[index[bit]] += inner.get((pin, k), 0.0)
                else:
                    found[index[bit]] += cells[inst.cell].capacitance.get(pin, 0.0)
    return dict(found)


def _groups(loads: list[tuple[Load, float]], max_load: float) -> list[list[Load]]:
    """Readers in groups of whole instances, at most ``max_load`` each where an instance
    allows."""
    by_instance: dict[int, list[tuple[Load, float]]] = defaultdict(list)
    for reader in loads:
        by_instance[reader[0][0]].append(reader)
    groups: list[list[Load]] = [[]]
    total = 0.0
    for k in sorted(by_instance):
        weight = sum(load for _, load in by_instance[k])
        if groups[-1] and total + weight > max_load:
            groups.append([])
            total = 0.0
        groups[-1] += [load for load, _ in by_instance[k]]
        total += weight
    return groups


def _tree(
    bit: NetBit,
    leaves: list[str],
    fixed: float,
    per_driver: int,
    buffer_load: float,
    max_load: float,
    cell: Buffer,
) -> list[str]:
    """The buffers driving nets ``leaves`` from ``bit``: levels of at most ``per_driver``
    buffers per driver until ``bit`` drives little enough besides its ``fixed`` load (the
    top module's own cells, which ABC buffered already), or one buffer."""
    statements, level, below = [], 0, leaves
    while len(below) > 1 and len(below) * buffer_load + fixed > max_load:
        level += 1
        chunks = [below[k : k + per_driver] for k in range(0, len(below), per_driver)]
        above = [f"{_name(bit)}$fanout_l{level}_{c}" for c in range(len(chunks))]
        for parent, chunk in zip(above, chunks, strict=True):
            statements += [_buffer(cell, f"\\{parent} ", child) for child in chunk]
        below = above
    return statements + [_buffer(cell, _expression(bit), child) for child in below]


def _buffer(cell: Buffer, source: str, net: str) -> str:
    return (
        f"  wire \\{net} ;\n  {cell.cell} \\{net}$buf  (\n"
        f"    .{cell.input}({source}),\n    .{cell.output}(\\{net} )\n  );\n"
    )


def _name(bit: NetBit) -> str:
    name, index = bit
    return name if index is None else f"{name}[{index}]"


def _expression(bit: NetBit) -> str:
    name, index = bit
    return f"\\{name} " if index is None else f"{name}[{index}]"


def _rewritten(
    text: str,
    statements: list[Statement],
    renamed: dict[int, dict[tuple[str, int], str]],
    added: list[str],
    body_end: int,
    top: Module,
) -> str:
    """The netlist with the renamed instances' connections rewritten (bit-blasted, most
    significant first, as Yosys writes them) and the buffers before the top's end."""
    pieces, last = [], 0
    for k in sorted(renamed):
        inst, start, end = statements[k]
        connections = []
        for port, expression in inst.pins.items():
            bits = top.bits(expression)
            bits = [renamed[k].get((port, i), b) for i, b in enumerate(bits)]
            connections.append(f"    .{port}({{ {' , '.join(reversed(bits))} }})")
        pieces += [text[last:start], f"  {inst.cell} \\{inst.name} (\n"]
        pieces += [",\n".join(connections), "\n  );"]
        last = end
    pieces += [text[last:body_end], *added, text[body_end:]]
    return "".join(pieces)
