"""Cycle-based, bit-parallel simulation of a netlist's gate graph (:mod:`gate_graph`).

Each node holds ``words`` 64-bit words, one bit per lane: every lane is an independent run
of the same netlist (a testbench gives lanes different vectors and the same configuration).
A cycle: the inputs are set, every and-node is evaluated in topological order (zero delay),
then the gated clocks; at the rising edge every flip-flop whose clock ticks takes its next
state, and asynchronous clear and preset act (the simulator has no time inside a cycle).
Toggles of every cell output, and clock edges of every flip-flop, are counted inside the
simulation for each half of the lanes.

The kernels are compiled once by numba (seconds), whatever the netlist: the netlist is data.
Verilator's and CXXRTL's models are C++ that grows with the netlist (30 to 40 minutes to
build the default design's); Icarus interprets the PDK's models at about 35 s a vector.
"""

from __future__ import annotations

import numba
import numpy as np

from econflow.flow.gate_graph import GateGraph

ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_MASK = np.array([0, 0xFFFFFFFFFFFFFFFF], np.uint64)
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_S1, _S2, _S4, _S56 = np.uint64(1), np.uint64(2), np.uint64(4), np.uint64(56)


@numba.njit(inline="always")
def _popcount(x: np.uint64) -> np.int64:  # pragma: no cover (compiled)
    x = x - ((x >> _S1) & _M1)
    x = (x & _M2) + ((x >> _S2) & _M2)
    x = (x + (x >> _S4)) & _M4
    return np.int64((x * _H01) >> _S56)


@numba.njit(cache=False, nogil=True)
def _settle(
    values, fanins, first_and, gate_node, gate_enable, gate_source, flip_node, flip_mask
):  # pragma: no cover
    """``flip_node`` (ascending) are and-nodes or gated clocks inverted on the lanes of
    ``flip_mask`` once computed: transients."""
    words = values.shape[1]
    f = 0
    for k in range(fanins.shape[0]):
        a = fanins[k, 0]
        b = fanins[k, 1]
        na = a >> 1
        nb = b >> 1
        ia = _MASK[a & 1]
        ib = _MASK[b & 1]
        node = first_and + k
        for w in range(words):
            values[node, w] = (values[na, w] ^ ia) & (values[nb, w] ^ ib)
        while f < flip_node.shape[0] and flip_node[f] < node:
            f += 1
        if f < flip_node.shape[0] and flip_node[f] == node:
            for w in range(words):
                values[node, w] ^= flip_mask[f, w]
    for g in range(gate_node.shape[0]):
        e = gate_enable[g]
        for w in range(words):
            values[gate_node[g], w] = (values[e >> 1, w] ^ _MASK[e & 1]) & values[gate_source[g], w]
        for i in range(flip_node.shape[0]):
            if flip_node[i] == gate_node[g]:
                for w in range(words):
                    values[gate_node[g], w] ^= flip_mask[i, w]


@numba.njit(cache=False, nogil=True)
def _edge(values, state, clock, next_state, clear, preset, scratch):  # pragma: no cover
    words = values.shape[1]
    for i in range(state.shape[0]):
        d, c, p = next_state[i], clear[i], preset[i]
        for w in range(words):
            tick = values[clock[i], w]
            q = (values[d >> 1, w] ^ _MASK[d & 1]) & tick | values[state[i], w] & ~tick
            q = q | (values[p >> 1, w] ^ _MASK[p & 1])
            scratch[i, w] = q & ~(values[c >> 1, w] ^ _MASK[c & 1])
    for i in range(state.shape[0]):
        for w in range(words):
            values[state[i], w] = scratch[i, w]


@numba.njit(cache=False, nogil=True)
def _count(values, watched, is_clock, previous, toggles, clock, edges, halves):  # pragma: no cover
    words = values.shape[1]
    for i in range(watched.shape[0]):
        lit = watched[i]
        for w in range(words):
            v = values[lit >> 1, w] ^ _MASK[lit & 1]
            if is_clock[i]:  # a clock rises and falls in each cycle it ticks
                for h in range(2):
                    toggles[i, h] += 2 * _popcount(v & halves[h, w])
            else:
                t = v ^ previous[i, w]
                previous[i, w] = v
                for h in range(2):
                    toggles[i, h] += _popcount(t & halves[h, w])
    for i in range(clock.shape[0]):
        for w in range(words):
            for h in range(2):
                edges[i, h] += _popcount(values[clock[i], w] & halves[h, w])


class CycleSim:
    """One netlist's graph simulated on ``64 * words`` lanes, from all-zero state."""

    def __init__(self, graph: GateGraph, words: int = 1) -> None:
        self.graph = graph
        self.words = words
        self.values = np.zeros((graph.nodes, words), np.uint64)
        self.values[graph.clocks] = ONES
        self._scratch = np.zeros((len(graph.flops.state), words), np.uint64)
        clock_nodes = np.concatenate([graph.clocks, graph.gates.node])
        self._is_clock = np.isin(graph.watched >> 1, clock_nodes)
        self._previous = np.zeros((len(graph.watched), words), np.uint64)
        self.toggles = np.zeros((len(graph.watched), 2), np.int64)
        self.clock_edges = np.zeros((len(graph.flops.state), 2), np.int64)
        self.counted_cycles = 0
        self._gated = set(graph.gates.node.tolist())
        self._clock_of = dict(
            zip(graph.flops.state.tolist(), graph.flops.clock.tolist(), strict=True)
        )
        self._inverted: dict[int, np.ndarray] = {}
        lanes = np.arange(64 * words)
        first = np.packbits(lanes < 32 * words, bitorder="little").view(np.uint64)
        self._halves = np.stack([first, ~first])

    @property
    def lanes(self) -> int:
        return 64 * self.words

    def set(self, port: str, value: int | np.ndarray) -> None:
        """Drive input ``port``: (bits, words) uint64, bit k of word w is lane 64 w + k; an
        int is the same value on every lane."""
        nodes = self.graph.inputs[port]
        if not isinstance(value, np.ndarray):
            value = uniform(value, len(nodes), self.words)
        self.values[nodes] = value

    def settle(self, flips: dict[int, np.ndarray] | None = None) -> None:
        """Evaluate the logic; ``flips`` (node -> (words,) lane mask) are transients: the
        node reads inverted on those lanes until this cycle's edge (an input port or a
        flip-flop's output net: the flip-flop keeps its own state)."""
        g = self.graph
        flips = flips or {}
        sources = {n: m for n, m in flips.items() if n < g.first_and and n not in self._gated}
        for node, mask in sources.items():
            self.values[node] ^= mask
        computed = sorted(n for n in flips if n not in sources)
        masks = np.array([flips[n] for n in computed], np.uint64).reshape(-1, self.words)
        _settle(
            self.values, g.fanins, g.first_and, g.gates.node, g.gates.enable, g.gates.source,
            np.array(computed, np.int64), masks,
        )  # fmt: skip
        self._inverted = sources

    def read(self, port: str) -> np.ndarray:
        """Output ``port`` after :meth:`settle`: (bits, words) uint64."""
        lits = self.graph.outputs[port]
        return self.values[lits >> 1] ^ _MASK[lits & 1][:, None]

    def count(self) -> None:
        """Add this cycle's toggles (against the last counted cycle) and clock edges."""
        if self.counted_cycles == 0:
            self._previous[:] = (
                self.values[self.graph.watched >> 1] ^ _MASK[self.graph.watched & 1][:, None]
            )
        _count(
            self.values,
            self.graph.watched,
            self._is_clock,
            self._previous,
            self.toggles,
            self.graph.flops.clock,
            self.clock_edges,
            self._halves,
        )
        self.counted_cycles += 1

    def edge(self) -> None:
        f = self.graph.flops
        _edge(self.values, f.state, f.clock, f.next_state, f.clear, f.preset, self._scratch)
        for node, mask in self._inverted.items():
            clock = self._clock_of.get(node)
            held = ~self.values[clock] if clock is not None else ONES
            self.values[node] ^= mask & held  # a flip-flop that took new data keeps it
        self._inverted = {}

    def cycle(self, inputs: dict[str, np.ndarray], count: bool = False) -> None:
        """Set ``inputs``, settle, count activity if asked, clock edge."""
        for port, words in inputs.items():
            self.set(port, words)
        self.settle()
        if count:
            self.count()
        self.edge()


def pack(values: np.ndarray, bits: int, words: int) -> np.ndarray:
    """One unsigned integer per lane (int64, 64 * words of them) as (bits, words) uint64."""
    lanes = np.asarray(values, np.int64).reshape(64 * words)
    planes = (lanes[None, :] >> np.arange(bits)[:, None]) & 1
    return np.ascontiguousarray(np.packbits(planes.astype(bool), axis=1, bitorder="little")).view(
        np.uint64
    )


def unpack(words: np.ndarray) -> np.ndarray:
    """(..., bits, words) uint64 as one unsigned integer per lane: (..., 64 * words) int64;
    bits < 63."""
    planes = np.unpackbits(words.view(np.uint8), axis=-1, bitorder="little").astype(np.int64)
    shifts = np.arange(words.shape[-2], dtype=np.int64)[:, None]
    return (planes << shifts).sum(axis=-2)


def uniform(value: int, bits: int, words: int) -> np.ndarray:
    """The same unsigned ``value`` on every lane, as (bits, words) uint64."""
    planes = (value >> np.arange(bits)) & 1
    return np.where(planes[:, None] == 1, ONES, np.uint64(0)) * np.ones(words, np.uint64)
