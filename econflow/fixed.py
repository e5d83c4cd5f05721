"""Fixed-point formats and the exact accumulator width of a multiply-accumulate layer.

A value ``v`` in format ``{bits, integer, signed}`` is held as the integer ``v * 2**frac``
with ``frac = bits - signed - integer`` (the sign bit is extra to ``integer``, as in QKeras'
``quantized_bits``). Re-quantization rounds half to even and saturates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROUNDING = "half_even"
SATURATION = "saturate"


@dataclass(frozen=True)
class Fixed:
    """A fixed-point format: total bits, integer bits (sign excluded), signedness."""

    bits: int
    integer: int
    signed: bool

    @property
    def frac(self) -> int:
        return self.bits - int(self.signed) - self.integer

    @property
    def min_int(self) -> int:
        return -(2 ** (self.bits - 1)) if self.signed else 0

    @property
    def max_int(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1

    def to_json(self) -> dict[str, Any]:
        return {
            "bits": self.bits,
            "integer": self.integer,
            "frac": self.frac,
            "signed": self.signed,
            "rounding": ROUNDING,
            "saturation": SATURATION,
        }


def accumulator_format(inp: Fixed, weight: Fixed, bias: Fixed, taps: int) -> Fixed:
    """Signed format wide enough for ``taps`` products and the bias, never rounded."""
    frac = max(inp.frac + weight.frac, bias.frac)
    largest = taps * max(abs(inp.min_int), inp.max_int) * 2 ** (frac - inp.frac - weight.frac)
    largest *= max(abs(weight.min_int), weight.max_int)
    largest += max(abs(bias.min_int), bias.max_int) * 2 ** (frac - bias.frac)
    bits = int(largest).bit_length() + 1
    return Fixed(bits, bits - 1 - frac, True)
