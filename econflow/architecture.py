"""The encoder's architecture as derived from a design's ``model`` section, once: image and
layer shapes, 'same' padding, every fixed-point format with the exact accumulator widths,
and the names of the QKeras layers that hls4ml's configuration is keyed by.

Validation of the design file, the QKeras encoder, the quantized model file and the HLS
project all read it from here, so they cannot disagree about a shape or a width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from econflow.fixed import Fixed, accumulator_format

if TYPE_CHECKING:
    from econflow.config import ModelSection

IMAGE_SIDE = 8  # the ECON-T layout: 48 trigger cells in an 8x8 image, 16 pixels unused
CHANNELS = 1

# Names of the encoder's QKeras layers; hls4ml names its per-layer settings after them.
INPUT = "charges"  # the model's input (normalized charges, real-valued)
INPUT_QUANTIZER = "input_q"
CONV = "conv"
CONV_ACTIVATION = "conv_act"
FLATTEN = "flatten"
DENSE = "dense"
LATENT = "latent"  # the dense layer's quantized ReLU: the encoder's output


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding (the extra pixel after), as (before, after)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


@dataclass(frozen=True)
class MacFormats:
    """The formats of one multiply-accumulate layer: its input (unsigned activations),
    weights and biases (signed), the exact accumulator and the re-quantized output."""

    input: Fixed
    weight: Fixed
    bias: Fixed
    accumulator: Fixed
    output: Fixed
    taps: int  # products per sum


@dataclass(frozen=True)
class Architecture:
    """Conv2D (``filters`` x ``kernel`` x ``kernel``, ``stride``, 'same') on the 8x8 image,
    then Dense to ``latent`` values."""

    filters: int
    kernel: int
    stride: int
    latent: int
    conv: MacFormats
    dense: MacFormats

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (IMAGE_SIDE, IMAGE_SIDE, CHANNELS)

    @property
    def conv_side(self) -> int:
        """Rows (and columns) of the conv layer's output."""
        return math.ceil(IMAGE_SIDE / self.stride)

    @property
    def conv_shape(self) -> tuple[int, int, int]:
        return (self.conv_side, self.conv_side, self.filters)

    @property
    def conv_outputs(self) -> int:
        """Values the conv layer hands to the dense layer (flattened h, w, c)."""
        return self.conv_side * self.conv_side * self.filters

    @property
    def padding(self) -> tuple[int, int]:
        """'same' padding of either image axis, (before, after)."""
        return same_padding(IMAGE_SIDE, self.kernel, self.stride)

    @property
    def conv_weight_shape(self) -> tuple[int, int, int, int]:
        return (self.kernel, self.kernel, CHANNELS, self.filters)

    @property
    def dense_weight_shape(self) -> tuple[int, int]:
        return (self.conv_outputs, self.latent)


def _mac(inp: Fixed, weight: Fixed, bias: Fixed, output: Fixed, taps: int) -> MacFormats:
    return MacFormats(inp, weight, bias, accumulator_format(inp, weight, bias, taps), output, taps)


@cache
def architecture(m: ModelSection) -> Architecture:
    """The architecture a design's ``model`` section describes."""
    conv = _mac(
        m.input.fixed(False),
        m.conv.weight.fixed(True),
        m.conv.bias.fixed(True),
        m.conv.activation.fixed(False),
        m.conv.kernel * m.conv.kernel * CHANNELS,
    )
    side = math.ceil(IMAGE_SIDE / m.conv.stride)
    dense = _mac(
        conv.output,
        m.dense.weight.fixed(True),
        m.dense.bias.fixed(True),
        m.latent.fixed(False),
        side * side * m.conv.filters,
    )
    return Architecture(m.conv.filters, m.conv.kernel, m.conv.stride, m.dense.latent, conv, dense)
