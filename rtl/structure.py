"""The encoder's structural description: parameters, arithmetic blocks, pipeline and registers.

Everything the templates render is decided here, from the quantized model file and the
``hardware`` section alone: which input feeds which multiplier, which weight sits at which
configuration address, where pipeline registers go. TMR is applied afterwards
(:mod:`econflow.rtl.tmr`) by marking registers protected; the templates only draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from econflow.config import HardwareSection
from econflow.errors import ArtefactError
from econflow.models.geometry import N_TC
from econflow.models.quantized import Layer, QuantizedModel
from econflow.rtl.artefacts import RegisterKind, TmrScope, WeightMode

# Where pipeline registers go, in the order a deeper pipeline adds them: after the conv layer
# first (it splits the normalization + conv path from the 128-input dense sums), then after the
# normalization, after the dense sums, and finally on the inputs.
PIPELINE_CUTS: tuple[str, ...] = ("conv", "norm", "dense", "input")
BOUNDARIES: tuple[str, ...] = ("input", "norm", "conv", "dense", "out")
ERROR_COUNT_BITS = 16


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
class MacLayer:
    """A layer of sums over a flat input bus, then ReLU and re-quantization.

    ``product_shift`` and ``bias_shift`` align products and bias to the accumulator's
    fractional bits; ``rshift``/``lshift`` take the accumulator to the output format.
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


@dataclass(frozen=True)
class Register:
    """A register bank of the design; ``protected`` banks are triplicated."""

    name: str
    width: int
    kind: RegisterKind
    protected: bool = False


@dataclass(frozen=True)
class Signal:
    """A bus crossing a pipeline boundary."""

    name: str
    width: int


@dataclass(frozen=True)
class Boundary:
    """A cut between datapath sections: registered (a pipeline stage) or a plain wire."""

    name: str
    index: int
    registered: bool
    signals: tuple[Signal, ...]


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
    boundaries: tuple[Boundary, ...]
    parameters: tuple[Parameter, ...]
    registers: tuple[Register, ...] = field(default=())

    @property
    def latency_cycles(self) -> int:
        return sum(b.registered for b in self.boundaries)

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


def build(model: QuantizedModel, hw: HardwareSection, top: str, path: str) -> Encoder:
    """Describe the encoder for ``model`` with the ``hardware`` section's choices.

    ``path`` names the quantized model file in errors.
    """
    conv_layer, dense_layer = model.layers
    for layer in model.layers:
        _check_layer(layer, path)
    pow2 = model.normalization == "pow2"
    sum_width = model.charge_bits + math.ceil(math.log2(N_TC)) if pow2 else 0
    parameters: list[Parameter] = []
    conv = _conv(conv_layer, model, parameters)
    dense = _dense(dense_layer, parameters)
    latent = model.latent
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
        latent_width=latent.bits,
        output_bits=hw.output_bits,
        weights=hw.weights,
        tmr=hw.tmr,
        boundaries=(),
        parameters=tuple(parameters),
    )
    if hw.weights == "hardwired":
        encoder = replace(encoder, conv=_fold_zeros(conv), dense=_fold_zeros(dense))
    encoder = replace(encoder, boundaries=_boundaries(encoder, hw.pipeline_depth))
    return replace(encoder, registers=_registers(encoder))


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


def _boundaries(enc: Encoder, depth: int) -> tuple[Boundary, ...]:
    cuts = set(PIPELINE_CUTS[:depth]) | {"out"}
    carried = {
        "input": Signal("charges", N_TC * enc.charge_bits),
        "norm": Signal("x", N_TC * enc.input_width),
        "conv": Signal("c", len(enc.conv.sums) * enc.conv.out_width),
        "dense": Signal("dacc", len(enc.dense.sums) * enc.dense.acc_width),
        "out": Signal("latent", enc.latent_size * enc.output_bits),
    }
    result = []
    for index, name in enumerate(BOUNDARIES):
        signals = [Signal("valid", 1), carried[name]]
        if enc.sum_width and name != "input":
            signals.append(Signal("sum", enc.sum_width))
        result.append(Boundary(name, index + 1, name in cuts, tuple(signals)))
    return tuple(result)


def _registers(enc: Encoder) -> tuple[Register, ...]:
    registers = []
    if enc.programmable:
        registers += [Register(p.name, p.width, "config") for p in enc.parameters]
    for b in enc.boundaries:
        if b.registered:
            registers += [Register(f"{s.name}_s{b.index}", s.width, "pipeline") for s in b.signals]
    if enc.tmr != "none":
        registers += [
            Register("tmr_error", 1, "status"),
            Register("tmr_error_count", ERROR_COUNT_BITS, "status"),
        ]
    return tuple(registers)
