"""Integer-exact NumPy evaluation of a quantized model file: the golden reference.

Every value is an int64 holding ``value * 2**frac`` of its format; nothing here uses floats,
so the result is what hardware computes with adders, multipliers and shifts.
"""

from __future__ import annotations

import numpy as np

from econflow.models.quantized import Fixed, Layer, QuantizedModel
from econflow.models.results import Comparison


def round_shift(values: np.ndarray, shift: int | np.ndarray) -> np.ndarray:
    """``values / 2**shift`` rounded half to even (QKeras' ``tf.round``); shift >= 0.

    Works for negative values: the arithmetic shift floors, the remainder decides.
    """
    values = np.asarray(values, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    floor = values >> shift
    remainder = values - (floor << shift)
    half = np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 1)
    up = (remainder > half) | ((remainder == half) & (shift > 0) & (floor & 1 == 1))
    return floor + up


def requantize(values: np.ndarray, frac_in: int | np.ndarray, fmt: Fixed) -> np.ndarray:
    """Re-express integers with ``frac_in`` fractional bits in ``fmt``: round, saturate."""
    delta = fmt.frac - np.asarray(frac_in, dtype=np.int64)
    scaled = np.where(
        delta >= 0,
        np.asarray(values, dtype=np.int64) << np.maximum(delta, 0),
        round_shift(values, np.maximum(-delta, 0)),
    )
    return np.clip(scaled, fmt.min_int, fmt.max_int)


def normalization_shift(charges: np.ndarray) -> np.ndarray:
    """floor(log2(module sum)) per module, 0 for an empty one; int64 (N,)."""
    total = np.asarray(charges, dtype=np.int64).sum(axis=1)
    shift = np.zeros(len(total), dtype=np.int64)
    for bit in range(1, 64):
        shift[total >= (1 << bit)] = bit
    return shift


def normalized(charges: np.ndarray, normalization: str) -> np.ndarray:
    """Charges divided by 2**shift (``pow2``) or as they are (``none``), float64 (N, 48).

    Exact (charges have at most 22 bits): what a floating-point model (QKeras, an HLS C
    simulation) is fed so that its own input quantizer does the rounding the hardware does.
    """
    q = np.asarray(charges, dtype=np.int64).astype(np.float64)
    if normalization == "pow2":
        q = q / 2.0 ** normalization_shift(charges)[:, None]
    return q


def real_input(model: QuantizedModel, charges: np.ndarray) -> np.ndarray:
    """The exact real-valued encoder input image before its quantizer, float64 (N, 8, 8, 1)."""
    image = normalized(charges, model.normalization)[:, model.pixel_tc] * model.pixel_used
    return image.reshape(-1, *model.layers[0].input_shape)


def encoder_input(model: QuantizedModel, charges: np.ndarray) -> np.ndarray:
    """Integer encoder input image int64 (N, 8, 8, 1) from int charges (N, 48)."""
    q = np.asarray(charges, dtype=np.int64)
    if model.normalization == "pow2":
        x = requantize(q, normalization_shift(q)[:, None], model.input_format)
    else:
        x = requantize(q, 0, model.input_format)
    image = x[:, model.pixel_tc] * model.pixel_used
    return image.reshape(-1, *model.layers[0].input_shape)


def _conv2d(layer: Layer, x: np.ndarray) -> np.ndarray:
    (pt, pb), (pl, pr) = layer.padding
    sh, sw = layer.strides
    kh, kw, _, cout = layer.weights.shape
    oh, ow, _ = layer.output_shape
    padded = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    patches = np.stack(
        [
            padded[:, i : i + sh * oh : sh, j : j + sw * ow : sw, :]
            for i in range(kh)
            for j in range(kw)
        ],
        axis=3,
    )  # (N, oh, ow, kh*kw, cin), tap order matches weights (kh, kw, cin)
    flat = patches.reshape(len(x), oh, ow, -1)
    return flat @ layer.weights.reshape(-1, cout)


def _layer(layer: Layer, x: np.ndarray) -> np.ndarray:
    product_frac = layer.input_format.frac + layer.weight_format.frac
    if layer.kind == "conv2d":
        products = _conv2d(layer, x)
    else:
        products = x.reshape(len(x), -1) @ layer.weights
    acc_frac = layer.accumulator.frac
    acc = (products << (acc_frac - product_frac)) + (
        layer.bias << (acc_frac - layer.bias_format.frac)
    )
    relu = np.maximum(acc, 0)
    return requantize(relu, acc_frac, layer.output)


def evaluate(model: QuantizedModel, charges: np.ndarray) -> np.ndarray:
    """Latent integers int64 (N, latent) for int charges (N, 48).

    The latent value is ``result * 2**-model.latent.frac``.
    """
    x = encoder_input(model, charges)
    for layer in model.layers:
        x = _layer(layer, x)
    return x.reshape(len(charges), -1)


def compare(golden: np.ndarray, outputs: np.ndarray, model: QuantizedModel) -> Comparison:
    """Count samples where a float model's latent outputs differ from the golden integers.

    Args:
        golden: int64 (N, latent) from :func:`evaluate`.
        outputs: (N, latent) real latent values of the model under test (QKeras, C-sim).

    A sample mismatches when any value differs or lies off the latent grid.
    """
    scaled = np.asarray(outputs, dtype=np.float64).reshape(golden.shape) * 2.0**model.latent.frac
    ints = np.rint(scaled).astype(np.int64)
    wrong = np.flatnonzero((ints != golden).any(axis=1) | (ints != scaled).any(axis=1))
    return Comparison(
        samples=int(len(golden)),
        mismatches=int(len(wrong)),
        first_mismatch=int(wrong[0]) if len(wrong) else None,
    )
