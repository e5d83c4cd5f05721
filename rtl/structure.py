"""The encoder's structural description: parameters, arithmetic blocks, pipeline and registers.

Everything the templates render is decided here, from the quantized model file and the
``hardware`` section alone: which input feeds which multiplier, which weight sits at which
configuration address, how each sum is added up and where pipeline registers go. TMR is
applied afterwards (:mod:`econflow.rtl.tmr`) by marking registers protected; the templates
only draw.

Every sum is an explicit binary adder tree whose level 0 holds the bias and the products,
each value as wide as its exact range needs. The arithmetic is integer and exact, so the
tree's shape and where registers cut it change no result: the RTL equals the fixed-point
model for any pipeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from econflow.config import HardwareSection
from econflow.errors import ArtefactError, EconflowError
from econflow.models.geometry import N_TC
from econflow.models.quantized import Layer, QuantizedModel
from econflow.pdk import ClockGate
from econflow.rtl import naming
from econflow.rtl.artefacts import RegisterKind, TmrScope, WeightMode

ERROR_COUNT_BITS = 16
# Configuration registers share a clock gate in groups of consecutive addresses: enough flip-
# flops per gate (16 registers of a few bits, per TMR copy) to pay for it, few enough that a
# write clocks little besides the register written.
GATE_GROUP_BITS = 4


@dataclass(frozen=True)
class Parameter:
    """One weight or bias: a configuration register (programmable) or a constant (hardwired)."""

    address: int
    name: str
    layer: str
    role: Literal["weight", "bias"]
    index: tuple[int, ...]
    width: int
    value: int

    @property
    def raw(self) -> int:
        """The two's-complement bits of ``value`` as an unsigned register word."""
        return self.value & ((1 << self.width) - 1)

    def range(self, programmable: bool) -> tuple[int, int]:
        """The values the parameter can take: its format's when loadable, else its own."""
        if programmable:
            return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        return self.value, self.value


@dataclass(frozen=True)
class Term:
    """``input[source] * parameter``: one multiplier of a sum."""

    source: int
    weight: Parameter


@dataclass(frozen=True)
class Sum:
    """One output of a layer: bias plus products, in the accumulator format."""

    terms: tuple[Term, ...]
    bias: Parameter


@dataclass(frozen=True)
class Node:
    """One value of a layer's adder trees, at bits ``[offset +: width]`` of its level's bus.

    At level 0 a node is a product (``source`` and ``parameter`` set) or a bias (``parameter``
    only), scaled to the accumulator's fractional bits. Above, it adds nodes ``left`` and
    ``right`` of the level below, or passes ``left`` on when it has no partner. ``low`` and
    ``high`` bound its value; ``width`` is the two's-complement width that holds them.
    """

    offset: int
    width: int
    low: int
    high: int
    left: int | None = None
    right: int | None = None
    source: int | None = None
    parameter: Parameter | None = None
    owner: int = 0  # the sum whose tree holds the node


@dataclass(frozen=True)
class MacLayer:
    """A layer of sums over a flat input bus, then ReLU and re-quantization.

    ``product_shift`` and ``bias_shift`` align products and bias to the accumulator's
    fractional bits; ``rshift``/``lshift`` take the accumulator to the output format.
    ``levels[k]`` are the adder trees' nodes at level ``k`` (0: bias and products); the last
    level holds one node per sum, in order.
    """

    name: str
    in_width: int
    acc_width: int
    out_width: int
    product_shift: int
    bias_shift: int
    rshift: int
    lshift: int
    sums: tuple[Sum, ...]
    levels: tuple[tuple[Node, ...], ...] = ()

    def bus_width(self, level: int) -> int:
        """Bits of the bus holding every node of ``level``."""
        last = self.levels[level][-1]
        return last.offset + last.width

    def tree(self, owner: int) -> tuple[tuple[Node, ...], ...]:
        """Sum ``owner``'s adder tree alone, its nodes' offsets and operands counted from its
        own first node of each level (a sum's nodes are consecutive on every level)."""
        tree: list[tuple[Node, ...]] = []
        first_below = 0
        for level in self.levels:
            first = next(k for k, n in enumerate(level) if n.owner == owner)
            mine = [n for n in level if n.owner == owner]
            base = mine[0].offset
            tree.append(
                tuple(
                    replace(
                        n,
                        offset=n.offset - base,
                        left=None if n.left is None else n.left - first_below,
                        right=None if n.right is None else n.right - first_below,
                    )
                    for n in mine
                )
            )
            first_below = first
        return tuple(tree)


@dataclass(frozen=True)
class Register:
    """A register bank of the design; ``protected`` banks are triplicated. ``instance`` is
    the path of its register primitive from the top module, ``/`` between levels (see
    :mod:`econflow.rtl.naming`)."""

    name: str
    width: int
    kind: RegisterKind
    protected: bool = False
    instance: str = ""


@dataclass(frozen=True)
class Signal:
    """A bus crossing a pipeline point."""

    name: str
    width: int


PointKind = Literal["input", "norm_sum", "norm_log2", "norm", "products", "level", "requant", "out"]
# Points inside the layers' adder trees: what crosses them is held in each sum's own module.
TREE_KINDS = ("products", "level")


@dataclass(frozen=True)
class Point:
    """A place in the datapath where a pipeline register can go, and what crosses it.

    The logic of kind ``kind`` computes the point's ``produced`` signal from the signals of
    the point before (``layer`` and ``level`` name the adder-tree level it computes);
    every other signal of the point passes through unchanged. ``registered`` points are
    pipeline stages; ``out`` always is.
    """

    name: str
    index: int
    kind: PointKind
    signals: tuple[Signal, ...]
    produced: str
    registered: bool = False
    layer: str | None = None
    level: int | None = None

    @property
    def bits(self) -> int:
        """Flip-flops a register here costs (each protected bit once)."""
        return sum(s.width for s in self.signals)


@dataclass(frozen=True)
class Encoder:
    """The complete structural description the templates render."""

    top: str
    charge_bits: int
    normalization: str
    input_width: int
    input_frac: int
    sum_width: int
    shift_width: int
    tc_pixels: tuple[int, ...]
    conv: MacLayer
    dense: MacLayer
    latent_size: int
    latent_width: int
    output_bits: int
    weights: WeightMode
    tmr: TmrScope
    parameters: tuple[Parameter, ...]
    scrub_interval: int = 1  # cycles between scrub ticks; 1 when the clocks are not gated
    clock_gate: ClockGate | None = None  # set when the configuration clocks are gated
    points: tuple[Point, ...] = ()
    registers: tuple[Register, ...] = field(default=())

    @property
    def latency_cycles(self) -> int:
        return sum(p.registered for p in self.points)

    @property
    def pipeline_depth(self) -> int:
        """Pipeline stages besides the output register."""
        return self.latency_cycles - 1

    @property
    def address_width(self) -> int:
        return max(1, math.ceil(math.log2(len(self.parameters))))

    @property
    def data_width(self) -> int:
        return max(p.width for p in self.parameters)

    @property
    def programmable(self) -> bool:
        return self.weights == "programmable"

    @property
    def protected_bits(self) -> int:
        return sum(r.width for r in self.registers if r.protected)

    @property
    def total_bits(self) -> int:
        return sum(r.width for r in self.registers)

    @property
    def flip_flops(self) -> int:
        """Physical flip-flops: three per protected bit, one per other bit."""
        return self.total_bits + 2 * self.protected_bits

    def layer(self, name: str) -> MacLayer:
        return self.conv if name == self.conv.name else self.dense

    @property
    def gated(self) -> bool:
        """Configuration registers clocked only on writes and scrub ticks."""
        return self.clock_gate is not None

    @property
    def gate_groups(self) -> int:
        """Clock-gated groups of configuration registers (``2**GATE_GROUP_BITS`` each)."""
        return math.ceil(len(self.parameters) / (1 << GATE_GROUP_BITS)) if self.gated else 0

    @property
    def scrub_width(self) -> int:
        """Bits of the scrub counter."""
        return max(1, math.ceil(math.log2(self.scrub_interval)))


class GatingError(EconflowError):
    """Clock gating asked for without a clock-gating cell."""


def build(
    model: QuantizedModel,
    hw: HardwareSection,
    top: str,
    path: str,
    clock_gate: ClockGate | None = None,
) -> Encoder:
    """Describe the encoder for ``model`` with the ``hardware`` section's choices, without
    pipeline stages (:func:`econflow.rtl.stages.place` registers points). Configuration
    registers are clock-gated with ``clock_gate`` when ``hw.scrub_interval`` exceeds 1.

    ``path`` names the quantized model file in errors.
    """
    conv_layer, dense_layer = model.layers
    for layer in model.layers:
        _check_layer(layer, path)
    pow2 = model.normalization == "pow2"
    sum_width = model.charge_bits + math.ceil(math.log2(N_TC)) if pow2 else 0
    programmable = hw.weights == "programmable"
    gated = hw.gates_clocks
    if gated and clock_gate is None:
        raise GatingError(f"scrub_interval {hw.scrub_interval} gates clocks: no clock-gating cell")
    parameters: list[Parameter] = []
    conv = _conv(conv_layer, model, parameters)
    dense = _dense(dense_layer, parameters)
    if not programmable:
        conv, dense = _fold_zeros(conv), _fold_zeros(dense)
    input_max = (1 << model.input_format.bits) - 1
    conv = _trees(conv, input_max, programmable)
    dense = _trees(dense, (1 << conv.out_width) - 1, programmable)
    encoder = Encoder(
        top=top,
        charge_bits=model.charge_bits,
        normalization=model.normalization,
        input_width=model.input_format.bits,
        input_frac=model.input_format.frac,
        sum_width=sum_width,
        shift_width=max(1, math.ceil(math.log2(max(sum_width, 2)))),
        tc_pixels=tuple(int(p) for p in np.flatnonzero(model.pixel_used)),
        conv=conv,
        dense=dense,
        latent_size=model.latent_size,
        latent_width=model.latent.bits,
        output_bits=hw.output_bits,
        weights=hw.weights,
        tmr=hw.tmr,
        parameters=tuple(parameters),
        scrub_interval=hw.scrub_interval if gated else 1,
        clock_gate=clock_gate if gated else None,
    )
    return replace(encoder, points=_points(encoder))


def parameters(model: QuantizedModel) -> tuple[Parameter, ...]:
    """Every weight and bias, in the address order of the configuration registers."""
    found: list[Parameter] = []
    for layer in model.layers:
        _parameters(layer, found)
    return tuple(found)


def with_registers(enc: Encoder) -> Encoder:
    """The register banks of ``enc`` as its points are registered: configuration registers,
    pipeline stages, the read data and TMR status."""
    registers = []
    if enc.programmable:
        registers += [Register(p.name, p.width, "config") for p in enc.parameters]
        registers.append(Register("cfg_rdata", enc.data_width, "status"))
    for p in enc.points:
        if p.registered:
            registers += _pipeline_registers(enc, p)
    if enc.gated:
        registers.append(Register("scrub_count", enc.scrub_width, "status"))
    if enc.tmr != "none":
        registers += [
            Register("tmr_error", 1, "status"),
            Register("tmr_error_count", ERROR_COUNT_BITS, "status"),
        ]
    placed = (replace(r, instance=r.instance or naming.instance(r.name)) for r in registers)
    return replace(enc, registers=tuple(placed))


def _pipeline_registers(enc: Encoder, point: Point) -> list[Register]:
    """A registered point's banks: the signals passing it in the top module, and the level of
    each sum's adder tree it cuts, inside that sum's module."""
    found = []
    for s in point.signals:
        if point.kind in TREE_KINDS and s.name == point.produced:
            layer = enc.layer(point.layer or "")
            for j in range(len(layer.sums)):
                width = sum(n.width for n in layer.tree(j)[point.level or 0])
                local = naming.tree_register(layer.name, point.level or 0, point.index)
                found.append(
                    Register(
                        f"{local}_{j}",
                        width,
                        "pipeline",
                        instance=f"{naming.sum_instance(layer.name, j)}/{naming.instance(local)}",
                    )
                )
        else:
            found.append(Register(f"{s.name}_s{point.index}", s.width, "pipeline"))
    return found


def _fold_zeros(layer: MacLayer) -> MacLayer:
    """Constant weights of zero need no multiplier."""
    sums = tuple(Sum(tuple(t for t in s.terms if t.weight.value != 0), s.bias) for s in layer.sums)
    return replace(layer, sums=sums)


def _check_layer(layer: Layer, path: str) -> None:
    what = f"layer {layer.name!r}"
    if layer.input_format.signed or layer.output.signed:
        raise ArtefactError(path, f"{what}: the RTL carries unsigned activations only (ReLU)")


def _parameters(layer: Layer, parameters: list[Parameter]) -> tuple[dict, list[Parameter]]:
    """Append the layer's weights then biases to the address map, in the file's order."""
    weights = {}
    for index in np.ndindex(layer.weights.shape):
        p = Parameter(
            address=len(parameters),
            name=f"{layer.name}_w_{'_'.join(map(str, index))}",
            layer=layer.name,
            role="weight",
            index=tuple(int(i) for i in index),
            width=layer.weight_format.bits,
            value=int(layer.weights[index]),
        )
        parameters.append(p)
        weights[index] = p
    biases = []
    for j, value in enumerate(layer.bias):
        p = Parameter(
            address=len(parameters),
            name=f"{layer.name}_b_{j}",
            layer=layer.name,
            role="bias",
            index=(j,),
            width=layer.bias_format.bits,
            value=int(value),
        )
        parameters.append(p)
        biases.append(p)
    return weights, biases


def _mac_layer(layer: Layer, sums: list[Sum], in_width: int) -> MacLayer:
    acc_frac = layer.accumulator.frac
    shift = acc_frac - layer.output.frac
    return MacLayer(
        name=layer.name,
        in_width=in_width,
        acc_width=layer.accumulator.bits,
        out_width=layer.output.bits,
        product_shift=acc_frac - layer.input_format.frac - layer.weight_format.frac,
        bias_shift=acc_frac - layer.bias_format.frac,
        rshift=max(shift, 0),
        lshift=max(-shift, 0),
        sums=tuple(sums),
    )


def _conv(layer: Layer, model: QuantizedModel, parameters: list[Parameter]) -> MacLayer:
    """Conv sums over TC inputs: padded and unused pixels contribute nothing and are skipped."""
    weights, biases = _parameters(layer, parameters)
    kh, kw, cin, cout = layer.weights.shape
    oh, ow, _ = layer.output_shape
    (pt, _), (pl, _) = layer.padding
    sh, sw = layer.strides
    height, width, _ = layer.input_shape
    pixel_tc = model.pixel_tc.reshape(height, width)
    used = model.pixel_used.reshape(height, width)
    sums = []
    for oy, ox, f in np.ndindex(oh, ow, cout):
        terms = []
        for i, j, c in np.ndindex(kh, kw, cin):
            y, x = oy * sh + i - pt, ox * sw + j - pl
            if 0 <= y < height and 0 <= x < width and used[y, x]:
                terms.append(Term(int(pixel_tc[y, x]) * cin + c, weights[(i, j, c, f)]))
        sums.append(Sum(tuple(terms), biases[f]))
    return _mac_layer(layer, sums, model.input_format.bits)


def _dense(layer: Layer, parameters: list[Parameter]) -> MacLayer:
    weights, biases = _parameters(layer, parameters)
    n_in, n_out = layer.weights.shape
    sums = [
        Sum(tuple(Term(i, weights[(i, j)]) for i in range(n_in)), biases[j]) for j in range(n_out)
    ]
    return _mac_layer(layer, sums, layer.input_format.bits)


def signed_width(low: int, high: int) -> int:
    """Bits of the two's-complement integers that hold ``[low, high]``."""
    magnitude = max(high.bit_length() if high > 0 else 0, (-low - 1).bit_length() if low < 0 else 0)
    return magnitude + 1


def _trees(layer: MacLayer, input_max: int, programmable: bool) -> MacLayer:
    """The adder trees of every sum: bias first, then the products, added in pairs."""
    operands: list[tuple[int, int, dict]] = []  # every sum's level-0 nodes, sum after sum
    members: list[list[int]] = []  # per sum, its nodes' indices in the current level
    for owner, s in enumerate(layer.sums):
        low, high = s.bias.range(programmable)
        mine = [len(operands)]
        operands.append(
            (
                low << layer.bias_shift,
                high << layer.bias_shift,
                {"parameter": s.bias, "owner": owner},
            )
        )
        for t in s.terms:
            w_low, w_high = t.weight.range(programmable)
            corners = (0, input_max * w_low, input_max * w_high)
            mine.append(len(operands))
            operands.append(
                (
                    min(corners) << layer.product_shift,
                    max(corners) << layer.product_shift,
                    {"source": t.source, "parameter": t.weight, "owner": owner},
                )
            )
        members.append(mine)
    levels = [_level(operands)]
    while any(len(m) > 1 for m in members):
        below = levels[-1]
        nodes: list[tuple[int, int, dict]] = []
        next_members = []
        for owner, m in enumerate(members):
            mine = []
            for k in range(0, len(m), 2):
                left, right = m[k], (m[k + 1] if k + 1 < len(m) else None)
                low, high = below[left].low, below[left].high
                if right is not None:
                    low, high = low + below[right].low, high + below[right].high
                mine.append(len(nodes))
                nodes.append((low, high, {"left": left, "right": right, "owner": owner}))
            next_members.append(mine)
        levels.append(_level(nodes))
        members = next_members
    return replace(layer, levels=tuple(levels))


def _level(nodes: list[tuple[int, int, dict]]) -> tuple[Node, ...]:
    """Nodes laid out on one bus, each as wide as its range needs."""
    placed, offset = [], 0
    for low, high, what in nodes:
        width = signed_width(low, high)
        placed.append(Node(offset, width, low, high, **what))
        offset += width
    return tuple(placed)


def _points(enc: Encoder) -> tuple[Point, ...]:
    """Every place a pipeline register can go, in datapath order, none registered but the
    outputs."""
    conv, dense = enc.conv, enc.dense
    found: list[tuple[str, PointKind, Signal, str | None, int | None]] = [
        ("input", "input", Signal("charges", N_TC * enc.charge_bits), None, None)
    ]
    if enc.sum_width:
        found += [
            ("norm_sum", "norm_sum", Signal("sum", enc.sum_width), None, None),
            ("norm_log2", "norm_log2", Signal("shift", enc.shift_width), None, None),
        ]
    found.append(("norm", "norm", Signal("x", N_TC * enc.input_width), None, None))
    for layer in (conv, dense):
        for k in range(len(layer.levels)):
            kind: PointKind = "products" if k == 0 else "level"
            name = f"{layer.name}_t{k}"
            found.append((name, kind, Signal(name, layer.bus_width(k)), layer.name, k))
        if layer is conv:
            found.append(("conv", "requant", Signal("c", len(conv.sums) * conv.out_width),
                          conv.name, None))  # fmt: skip
    found.append(
        ("out", "out", Signal("latent", enc.latent_size * enc.output_bits), dense.name, None)
    )
    points = []
    live: dict[str, Signal] = {}
    for index, (name, kind, produced, layer, level) in enumerate(found, start=1):
        live = _carried(live, kind) | {produced.name: produced}
        signals = (Signal("valid", 1), *live.values())
        points.append(Point(name, index, kind, signals, produced.name, name == "out", layer, level))
    return tuple(points)


def _carried(live: dict[str, Signal], kind: PointKind) -> dict[str, Signal]:
    """The signals that pass a point of ``kind`` unchanged: the module sum travels to the
    outputs; charges live until they are normalized, the shift until it is used; a layer's
    bus is replaced by the next."""
    keep = {"sum"}
    if kind in ("norm_sum", "norm_log2"):
        keep |= {"charges", "sum", "shift"}
    return {name: s for name, s in live.items() if name in keep}
