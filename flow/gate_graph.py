"""The synthesized netlist as one and-inverter graph with state, for the cycle simulator.

Node 0 is false; then the input port bits, the gated clocks (one per clock gate), the
flip-flops' states, then the and-nodes in topological order. A literal is ``2 * node +
inverted``. Every net gets a literal, so buffers and inverters add no node. Each cell kind's
logic (:mod:`cell_logic`) is laid out for all its instances at once with array operations:
the default netlist has 1.7 million cells.

Clocks must come from an input port or a clock gate (through buffers), rising edge; a clock
net that feeds logic, a combinational loop, an undriven or doubly driven net, a cell missing
from the liberty: each is an error naming the net or cell. Written by hand: Yosys writes such
a graph (``aigmap``, AIGER) but without the netlist's cell names the activity and the upset
campaign need, and in minutes on the default design.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
from liberty.types import Group

from econflow.errors import FormatError
from econflow.flow import cell_logic
from econflow.flow.cell_logic import Kind, Operand, Template
from econflow.flow.formats import netlist

_FALSE_NET, _TRUE_NET = 0, 1


@dataclass(frozen=True)
class Flops:
    names: list[str]
    state: np.ndarray  # node
    clock: np.ndarray  # node of its clock: a clock port bit or a gated clock
    next_state: np.ndarray  # literal
    clear: np.ndarray  # literal (0: none)
    preset: np.ndarray  # literal (0: none)


@dataclass(frozen=True)
class ClockGates:
    """In the order they are evaluated: each gate's source before the gate."""

    names: list[str]
    node: np.ndarray  # the gated clock
    enable: np.ndarray  # literal
    source: np.ndarray  # node of the clock it gates


@dataclass(frozen=True)
class GateGraph:
    nodes: int
    fanins: np.ndarray  # (and-nodes, 2) literals; and-node k is node ``first_and + k``
    inputs: dict[str, np.ndarray]  # data input port -> node of each bit, LSB first
    clocks: np.ndarray  # nodes of the clock port bits
    outputs: dict[str, np.ndarray]  # output port -> literal of each bit, LSB first
    flops: Flops
    gates: ClockGates
    watched: np.ndarray  # literal of each connected cell output
    watched_cell: np.ndarray  # its cell, an index into ``cells``
    cells: list[str]  # instance names

    @property
    def first_and(self) -> int:
        return self.nodes - len(self.fanins)


class _Refs:
    """Operands laid out for ``n`` instances: a net to resolve (``net >= 0``, ``lit`` then
    holds the inversion) or a literal."""

    def __init__(self, net: np.ndarray, lit: np.ndarray) -> None:
        self.net, self.lit = net, lit

    def resolve(self, net_lit: np.ndarray) -> np.ndarray:
        found = np.where(self.net >= 0, net_lit[np.maximum(self.net, 0)] ^ self.lit, self.lit)
        return found.astype(np.int64)


@dataclass
class _Kind:
    """One cell kind's instances, their pin nets, and where its nodes start."""

    template: Template
    index: np.ndarray  # instance indices into the netlist
    pins: np.ndarray  # (n, pins) net ids
    outputs: dict[str, np.ndarray]  # pin -> net ids (-1: unconnected)
    first_node: int = 0  # its and-nodes: first_node + k * n + instance
    first_source: int = 0  # its flip-flop states or gated clocks

    def refs(self, operand: Operand) -> _Refs:
        kind, index, inverted = operand
        n = len(self.index)
        inv = np.full(n, int(inverted), np.int64)
        none = np.full(n, -1, np.int64)
        if kind == Kind.CONST:
            return _Refs(none, inv)
        if kind == Kind.PIN:
            return _Refs(self.pins[:, index], inv)
        first = self.first_node + index * n if kind == Kind.NODE else self.first_source
        return _Refs(none, 2 * (first + np.arange(n, dtype=np.int64)) + inv)


class _Nets:
    """Net ids by connection text; 0 and 1 are the constants."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.by_text: dict[str, int] = {}
        self.by_bit: dict[netlist.NetBit, int] = {("1'b0", None): 0, ("1'b1", None): 1}

    def id(self, text: str) -> int:
        found = self.by_text.get(text)
        if found is None:
            bit = netlist.net_bit(text)
            if bit is None:
                bit = self._constant(text)
            found = self.by_bit.setdefault(bit, len(self.by_bit))
            self.by_text[text] = found
        return found

    def _constant(self, text: str) -> netlist.NetBit:
        bits = netlist.bits_of(text)
        if len(bits) != 1 or bits[0] not in ("1'b0", "1'b1"):
            raise FormatError(f"{self.source}: connection {text!r} is not one net or 0 or 1")
        return bits[0], None

    def name(self, net: int) -> str:
        for (name, index), found in self.by_bit.items():
            if found == net:
                return name if index is None else f"{name}[{index}]"
        return f"net {net}"


def build(gates: netlist.Netlist, library: dict[str, Group], source: Path) -> GateGraph:
    """The graph of the flattened netlist ``gates`` (read from ``source``) with the cells of
    ``library`` (liberty cell name -> group)."""
    nets = _Nets(source)
    in_ports = [p for p in gates.ports if p.direction == "input"]
    out_ports = [p for p in gates.ports if p.direction == "output"]
    if len(in_ports) + len(out_ports) != len(gates.ports):
        raise FormatError(f"{source}: inout ports are not simulated")
    port_nodes = {p.name: np.array([nets.id(_text(b)) for b in p.bits()]) for p in in_ports}
    kinds = _kinds(gates, library, nets, source)
    n_inputs = sum(len(v) for v in port_nodes.values())
    next_node = 1 + n_inputs
    for role in ("clock_gate", "flop"):
        for kind in kinds:
            if kind.template.role == role:
                kind.first_source, next_node = next_node, next_node + len(kind.index)
    first_and = next_node
    for kind in kinds:
        kind.first_node = next_node
        next_node += len(kind.template.ands) * len(kind.index)
    net_lit = np.full(len(nets.by_bit), -1, np.int64)
    net_lit[_TRUE_NET] = 1
    net_lit[_FALSE_NET] = 0
    node = 1
    input_nodes: dict[str, np.ndarray] = {}
    for port, ids in port_nodes.items():
        input_nodes[port] = np.arange(node, node + len(ids))
        net_lit[ids] = 2 * input_nodes[port]
        node += len(ids)
    _drive(kinds, net_lit, nets, port_nodes)
    fanins = np.zeros((next_node - first_and, 2), np.int64)
    owner = np.zeros(len(fanins), np.int64)
    for kind in kinds:
        n = len(kind.index)
        for k, pair in enumerate(kind.template.ands):
            rows = slice(
                kind.first_node - first_and + k * n, kind.first_node - first_and + (k + 1) * n
            )
            for side, operand in enumerate(pair):
                fanins[rows, side] = _resolved(kind, operand, net_lit, nets)
            owner[rows] = kind.index
    graph = _Parts(gates, kinds, net_lit, nets, input_nodes, first_and)
    return graph.assemble(fanins, owner, out_ports)


def _text(bit: netlist.NetBit) -> str:
    name, index = bit
    return f"\\{name} " if index is None else f"{name}[{index}]"


def _kinds(
    gates: netlist.Netlist, library: dict[str, Group], nets: _Nets, source: Path
) -> list[_Kind]:
    by_cell: dict[str, list[int]] = {}
    for k, inst in enumerate(gates.instances):
        by_cell.setdefault(inst.cell, []).append(k)
    kinds = []
    for cell, members in sorted(by_cell.items()):
        if cell not in library:
            first = gates.instances[members[0]].name
            raise FormatError(f"{source}: cell {cell} (instance {first}) is not in the liberty")
        template = cell_logic.template(library[cell])
        if not template.outputs:
            continue
        instances = [gates.instances[k] for k in members]
        try:
            pins = [[nets.id(i.pins[p]) for p in template.pins] for i in instances]
        except KeyError as exc:
            bad = next(i for i in instances if exc.args[0] not in i.pins)
            raise FormatError(
                f"{source}: instance {bad.name} ({cell}): input pin {exc.args[0]} is not connected"
            ) from None
        outputs = {
            pin: np.array(
                [nets.id(i.pins[pin]) if i.pins.get(pin, "").strip() else -1 for i in instances],
                np.int64,
            )
            for pin in template.outputs
        }
        kinds.append(
            _Kind(
                template,
                np.array(members, np.int64),
                np.array(pins, np.int64).reshape(len(members), len(template.pins)),
                outputs,
            )
        )
    return kinds


def _drive(
    kinds: list[_Kind], net_lit: np.ndarray, nets: _Nets, port_nodes: dict[str, np.ndarray]
) -> None:
    """Every driven net's literal, following buffers and inverters to their source."""
    driven = [ids for ids in port_nodes.values()]
    alias_net, alias_inv, alias_src = [], [], []
    for kind in kinds:
        for pin, ids in kind.outputs.items():
            connected = ids >= 0
            driven.append(ids[connected])
            if kind.template.role == "clock_gate":
                net_lit[ids[connected]] = 2 * (kind.first_source + np.flatnonzero(connected))
                continue
            refs = kind.refs(kind.template.outputs[pin])
            through = connected & (refs.net >= 0)
            direct = connected & (refs.net < 0)
            net_lit[ids[direct]] = refs.lit[direct]
            alias_net.append(ids[through])
            alias_src.append(refs.net[through])
            alias_inv.append(refs.lit[through])
    counts = np.bincount(np.concatenate(driven), minlength=len(net_lit))
    if counts[2:].max(initial=0) > 1:
        raise FormatError(
            f"{nets.source}: net {nets.name(int(np.argmax(counts[2:])) + 2)} "
            f"has {counts[2:].max()} drivers"
        )
    if counts[:2].any():
        raise FormatError(f"{nets.source}: a cell drives a constant")
    target, src, inv = (
        np.concatenate(a) if a else np.zeros(0, np.int64) for a in (alias_net, alias_src, alias_inv)
    )
    while len(target):
        ready = net_lit[src] >= 0
        if not ready.any():
            break
        net_lit[target[ready]] = net_lit[src[ready]] ^ inv[ready]
        target, src, inv = target[~ready], src[~ready], inv[~ready]


def _resolved(kind: _Kind, operand: Operand, net_lit: np.ndarray, nets: _Nets) -> np.ndarray:
    refs = kind.refs(operand)
    undriven = (refs.net >= 0) & (net_lit[np.maximum(refs.net, 0)] < 0)
    if undriven.any():
        k = int(np.flatnonzero(undriven)[0])
        raise FormatError(
            f"{nets.source}: net {nets.name(int(refs.net[k]))}, read by a "
            f"{kind.template.name}, has no driver (or is in a loop of buffers)"
        )
    return refs.resolve(net_lit)


class _Parts:
    """The flip-flops, clock gates and ports of a graph whose nets are resolved."""

    def __init__(
        self,
        gates: netlist.Netlist,
        kinds: list[_Kind],
        net_lit: np.ndarray,
        nets: _Nets,
        input_nodes: dict[str, np.ndarray],
        first_and: int,
    ) -> None:
        self.gates, self.kinds, self.net_lit, self.nets = gates, kinds, net_lit, nets
        self.input_nodes, self.first_and = input_nodes, first_and
        gated = [
            k.first_source + np.arange(len(k.index))
            for k in kinds
            if k.template.role == "clock_gate"
        ]  # what a clock pin may read: an input port or a gated clock
        self.clock_capable = np.concatenate([*input_nodes.values(), *gated, np.zeros(0, np.int64)])

    def _clock_nodes(self, kind: _Kind) -> np.ndarray:
        lits = _resolved(
            kind,
            (Kind.PIN, kind.template.pins.index(kind.template.clock), False),
            self.net_lit,
            self.nets,
        )
        nodes = lits >> 1
        bad = (lits & 1).astype(bool) | ~np.isin(nodes, self.clock_capable)
        if bad.any():
            name = self.gates.instances[int(kind.index[np.flatnonzero(bad)[0]])].name
            raise FormatError(
                f"{self.nets.source}: the clock of {name} ({kind.template.name}) "
                "is not a clock port or a clock gate's output through buffers "
                "(an inverted or logic-derived clock)"
            )
        return nodes

    def _gates(self) -> ClockGates:
        names, node, enable, source = [], [], [], []
        for kind in self.kinds:
            if kind.template.role != "clock_gate":
                continue
            names += [self.gates.instances[int(k)].name for k in kind.index]
            node.append(kind.first_source + np.arange(len(kind.index)))
            enable.append(_resolved(kind, kind.template.enable, self.net_lit, self.nets))
            source.append(self._clock_nodes(kind))
        node_a, enable_a, source_a = (
            np.concatenate(a) if a else np.zeros(0, np.int64) for a in (node, enable, source)
        )
        order = _source_first(node_a, source_a)
        return ClockGates(
            [names[k] for k in order], node_a[order], enable_a[order], source_a[order]
        )

    def _flops(self) -> Flops:
        names, parts = [], []
        for kind in self.kinds:
            if kind.template.role != "flop":
                continue
            t = kind.template
            names += [self.gates.instances[int(k)].name for k in kind.index]
            parts.append(
                (
                    kind.first_source + np.arange(len(kind.index)),
                    self._clock_nodes(kind),
                    *(
                        _resolved(kind, o, self.net_lit, self.nets)
                        for o in (t.next_state, t.clear, t.preset)
                    ),
                )
            )
        columns = [
            np.concatenate(c) if c else np.zeros(0, np.int64) for c in zip(*parts, strict=True)
        ]
        return Flops(names, *columns) if parts else Flops([], *[np.zeros(0, np.int64)] * 5)

    def assemble(self, fanins: np.ndarray, owner: np.ndarray, out_ports: list) -> GateGraph:
        gates, flops = self._gates(), self._flops()
        clocks = np.unique(np.concatenate([flops.clock, gates.source]))
        clocks = clocks[~np.isin(clocks, gates.node)]
        clock_nodes = np.concatenate([clocks, gates.node])
        data = [fanins.ravel(), flops.next_state, flops.clear, flops.preset, gates.enable]
        outputs = {}
        for port in out_ports:
            ids = np.array([self.nets.id(_text(b)) for b in port.bits()])
            if (self.net_lit[ids] < 0).any():
                raise FormatError(f"{self.nets.source}: output {port.name} has an undriven bit")
            outputs[port.name] = self.net_lit[ids]
            data.append(outputs[port.name])
        for lits in data:
            hit = np.isin(lits >> 1, clock_nodes)
            if hit.any():
                raise FormatError(
                    f"{self.nets.source}: a clock feeds logic or an output "
                    "(the cycle simulator keeps clocks out of the data path)"
                )
        watched, watched_cell = [], []
        for kind in self.kinds:
            for ids in kind.outputs.values():
                connected = ids >= 0
                watched.append(self.net_lit[ids[connected]])
                watched_cell.append(kind.index[connected])
        order, loop = _depth_first(fanins, self.first_and)
        if loop >= 0:
            name = self.gates.instances[int(owner[loop])].name
            raise FormatError(f"{self.nets.source}: a combinational loop through {name}")
        rank = np.empty(len(fanins), np.int64)
        rank[order] = np.arange(len(fanins))
        nodes = self.first_and + len(fanins)
        moved = np.concatenate([np.arange(self.first_and), self.first_and + rank])

        def renumber(lits: np.ndarray) -> np.ndarray:
            return 2 * moved[lits >> 1] + (lits & 1)

        data_ports = {p: n for p, n in self.input_nodes.items() if not np.isin(n, clocks).any()}
        return GateGraph(
            nodes=nodes,
            fanins=renumber(fanins[order]),
            inputs=data_ports,
            clocks=clocks,
            outputs={p: renumber(v) for p, v in outputs.items()},
            flops=Flops(
                flops.names,
                flops.state,
                flops.clock,
                *(renumber(a) for a in (flops.next_state, flops.clear, flops.preset)),
            ),
            gates=ClockGates(gates.names, gates.node, renumber(gates.enable), gates.source),
            watched=renumber(np.concatenate(watched)),
            watched_cell=np.concatenate(watched_cell),
            cells=[i.name for i in self.gates.instances],
        )


def _source_first(node: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Clock gates ordered so that a gate whose clock is another gate's comes after it."""
    depth = np.zeros(len(node), np.int64)
    position = {int(n): k for k, n in enumerate(node)}
    for _ in range(len(node)):
        upstream = np.array(
            [depth[position[int(s)]] + 1 if int(s) in position else 0 for s in source], np.int64
        )
        if np.array_equal(upstream, depth):
            break
        depth = upstream
    return np.argsort(depth, kind="stable")


@numba.njit(cache=False)
def _depth_first(fanins: np.ndarray, first_and: int) -> tuple[np.ndarray, int]:  # pragma: no cover
    """A topological order of the and-nodes in which each node follows its fanin cone
    (depth-first, post-order): the nodes one evaluation reads are mostly the last ones it
    wrote, which keeps them in the processor's caches. Returns the order and -1, or the
    order so far and an and-node on a combinational loop."""
    n = fanins.shape[0]
    state = np.zeros(n, np.int8)  # 0 unseen, 1 on the stack, 2 ordered
    order = np.empty(n, np.int64)
    stack = np.empty(n, np.int64)
    count = 0
    for root in range(n):
        if state[root]:
            continue
        top = 0
        stack[0] = root
        state[root] = 1
        while top >= 0:
            k = stack[top]
            descended = False
            for side in range(2):
                source = (fanins[k, side] >> 1) - first_and
                if source < 0 or state[source] == 2:
                    continue
                if state[source] == 1:
                    return order[:count], source
                state[source] = 1
                top += 1
                stack[top] = source
                descended = True
                break
            if not descended:
                order[count] = k
                count += 1
                state[k] = 2
                top -= 1
    return order, -1
