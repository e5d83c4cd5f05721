"""The quantized model file: the trained encoder as plain, versioned integer data.

This is the contract every later stage reads (specified in docs/quantized-model.md). It holds
the layers with their shapes, integer weights and biases, every fixed-point format, the
TC-to-pixel layout and the input normalization; the fixed-point model, the HLS project and
the RTL come from it alone.

A value ``v`` in format ``{bits, integer, signed}`` is stored as the integer ``v * 2**frac``
with ``frac = bits - signed - integer``. All re-quantization rounds half to even (QKeras uses
``tf.round``) and saturates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from econflow import __version__
from econflow import architecture as names
from econflow.architecture import IMAGE_SIDE, MacFormats, architecture
from econflow.config import Design, ModelSection
from econflow.errors import ArtefactError
from econflow.fixed import ROUNDING, SATURATION, Fixed, accumulator_format
from econflow.models.geometry import N_TC, econt_layout

FORMAT_NAME = "econflow-quantized-model"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Layer:
    """One arithmetic layer: ``act(sum(x * w) + b)`` re-quantized to ``output``.

    ``weights`` is int64 (kh, kw, cin, cout) for conv2d and (in, out) for dense.
    """

    name: str
    kind: str  # "conv2d" or "dense"
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    weights: np.ndarray
    weight_format: Fixed
    bias: np.ndarray
    bias_format: Fixed
    input_format: Fixed
    accumulator: Fixed
    output: Fixed
    strides: tuple[int, int] = (1, 1)
    padding: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))


@dataclass(frozen=True)
class QuantizedModel:
    """The validated content of a quantized model file."""

    layers: tuple[Layer, ...]
    input_format: Fixed
    normalization: str  # "pow2" or "none"
    charge_bits: int
    pixel_tc: np.ndarray  # int64 (64,)
    pixel_used: np.ndarray  # bool (64,)

    @property
    def latent(self) -> Fixed:
        return self.layers[-1].output

    @property
    def latent_size(self) -> int:
        return int(self.layers[-1].output_shape[-1])


def build(
    m: ModelSection,
    charge_bits: int,
    conv: tuple[np.ndarray, np.ndarray],
    dense: tuple[np.ndarray, np.ndarray],
) -> QuantizedModel:
    """Assemble the model from integer weights and biases of the two layers."""
    arch = architecture(m)
    w_conv, b_conv = conv
    w_dense, b_dense = dense
    layers = (
        _layer(
            names.CONV,
            "conv2d",
            arch.image_shape,
            arch.conv_shape,
            w_conv,
            b_conv,
            arch.conv,
            strides=(arch.stride, arch.stride),
            padding=(arch.padding, arch.padding),
        ),
        _layer(
            names.DENSE,
            "dense",
            (arch.conv_outputs,),
            (arch.latent,),
            w_dense,
            b_dense,
            arch.dense,
        ),
    )
    pixel_tc, used = econt_layout()
    return QuantizedModel(layers, arch.conv.input, m.normalization, charge_bits, pixel_tc, used)


def _layer(
    name: str,
    kind: str,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    weights: np.ndarray,
    bias: np.ndarray,
    formats: MacFormats,
    **geometry: Any,
) -> Layer:
    return Layer(
        name=name,
        kind=kind,
        input_shape=in_shape,
        output_shape=out_shape,
        weights=np.asarray(weights, np.int64),
        weight_format=formats.weight,
        bias=np.asarray(bias, np.int64),
        bias_format=formats.bias,
        input_format=formats.input,
        accumulator=formats.accumulator,
        output=formats.output,
        **geometry,
    )


def save(model: QuantizedModel, path: Path) -> None:
    """Write the model as JSON (integers only, no floats)."""
    doc = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "econflow_version": __version__,
        "n_tc": N_TC,
        "layout": {
            "name": "econt_8x8",
            "shape": [IMAGE_SIDE, IMAGE_SIDE],
            "pixel_tc": model.pixel_tc.tolist(),
            "pixel_used": [int(u) for u in model.pixel_used],
        },
        "normalization": {
            "type": model.normalization,
            "charge_bits": model.charge_bits,
            "shift": "floor(log2(sum of charges)); 0 for an empty module"
            if model.normalization == "pow2"
            else "none",
        },
        "input": {
            "shape": list(model.layers[0].input_shape),
            "format": model.input_format.to_json(),
        },
        "layers": [_layer_json(layer) for layer in model.layers],
        "output": {
            "name": names.LATENT,
            "size": model.latent_size,
            "format": model.latent.to_json(),
        },
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")


def _layer_json(layer: Layer) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": layer.name,
        "type": layer.kind,
        "input_shape": list(layer.input_shape),
        "output_shape": list(layer.output_shape),
    }
    if layer.kind == "conv2d":
        doc["kernel_size"] = list(layer.weights.shape[:2])
        doc["strides"] = list(layer.strides)
        doc["padding"] = [list(p) for p in layer.padding]
        doc["weights_order"] = "kh,kw,cin,cout"
    else:
        doc["flatten_order"] = "hwc"
        doc["weights_order"] = "in,out"
    doc.update(
        {
            "input_format": layer.input_format.to_json(),
            "weight_format": layer.weight_format.to_json(),
            "weights": layer.weights.tolist(),
            "bias_format": layer.bias_format.to_json(),
            "bias": layer.bias.tolist(),
            "accumulator_format": layer.accumulator.to_json(),
            "activation": "relu",
            "output_format": layer.output.to_json(),
        }
    )
    return doc


def load(path: str | Path) -> QuantizedModel:
    """Read and validate a quantized model file.

    Raises:
        ArtefactError: missing, not JSON, another format or version, or inconsistent content.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise ArtefactError(path, f"cannot read quantized model ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ArtefactError(path, f"not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise ArtefactError(path, f"not an econflow quantized model (format != {FORMAT_NAME!r})")
    if doc.get("version") != FORMAT_VERSION:
        raise ArtefactError(
            path,
            f"quantized model file version {doc.get('version')!r}; "
            f"this econflow reads version {FORMAT_VERSION}",
        )
    try:
        return _parse(doc)
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtefactError(path, f"invalid quantized model: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    return f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)


def _fixed(doc: dict[str, Any], what: str) -> Fixed:
    fmt = Fixed(int(doc["bits"]), int(doc["integer"]), bool(doc["signed"]))
    if doc.get("rounding") != ROUNDING or doc.get("saturation") != SATURATION:
        raise ValueError(f"{what}: only {ROUNDING} rounding with saturation is supported")
    if fmt.bits < 1 or fmt.frac < 0 or doc.get("frac", fmt.frac) != fmt.frac:
        raise ValueError(f"{what}: inconsistent format {doc}")
    return fmt


def _ints(values: Any, fmt: Fixed, shape: tuple[int, ...], what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != shape:
        raise ValueError(f"{what}: shape {array.shape}, expected {shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{what}: values must be integers")
    array = array.astype(np.int64)
    bad = (array < fmt.min_int) | (array > fmt.max_int)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{what}{list(index)} = {array[index]} does not fit {fmt.bits}-bit "
            f"{'signed' if fmt.signed else 'unsigned'} [{fmt.min_int}, {fmt.max_int}]"
        )
    return array


def _parse(doc: dict[str, Any]) -> QuantizedModel:
    layout = doc["layout"]
    pixel_tc = np.asarray(layout["pixel_tc"], dtype=np.int64)
    used = np.asarray(layout["pixel_used"], dtype=bool)
    pixels = (IMAGE_SIDE * IMAGE_SIDE,)
    if (
        pixel_tc.shape != pixels
        or used.shape != pixels
        or sorted(pixel_tc[used]) != list(range(N_TC))
    ):
        raise ValueError(
            f"layout must map {pixels[0]} pixels, the used ones to each of the {N_TC} TCs once"
        )
    norm = doc["normalization"]
    if norm["type"] not in ("pow2", "none"):
        raise ValueError(f"normalization type {norm['type']!r} is not 'pow2' or 'none'")
    in_fmt = _fixed(doc["input"]["format"], "input.format")
    layers = []
    previous = in_fmt
    for i, ld in enumerate(doc["layers"]):
        layer = _parse_layer(ld, f"layers[{i}]")
        if layer.input_format != previous:
            raise ValueError(f"layers[{i}].input_format does not match the previous output")
        layers.append(layer)
        previous = layer.output
    if [layer.kind for layer in layers] != ["conv2d", "dense"]:
        raise ValueError("expected layers conv2d then dense (the ECON-T encoder)")
    conv, dense = layers
    if int(np.prod(conv.output_shape)) != dense.input_shape[0]:
        raise ValueError("conv2d output does not match the dense input size")
    return QuantizedModel(
        tuple(layers), in_fmt, norm["type"], int(norm["charge_bits"]), pixel_tc, used
    )


def _parse_layer(ld: dict[str, Any], what: str) -> Layer:
    kind = ld["type"]
    in_shape = tuple(int(v) for v in ld["input_shape"])
    out_shape = tuple(int(v) for v in ld["output_shape"])
    w_fmt = _fixed(ld["weight_format"], f"{what}.weight_format")
    b_fmt = _fixed(ld["bias_format"], f"{what}.bias_format")
    in_fmt = _fixed(ld["input_format"], f"{what}.input_format")
    out_fmt = _fixed(ld["output_format"], f"{what}.output_format")
    acc = _fixed(ld["accumulator_format"], f"{what}.accumulator_format")
    if ld.get("activation") != "relu":
        raise ValueError(f"{what}.activation must be 'relu'")
    extra: dict[str, Any] = {}
    if kind == "conv2d":
        kh, kw = (int(v) for v in ld["kernel_size"])
        w_shape = (kh, kw, in_shape[-1], out_shape[-1])
        extra["strides"] = tuple(int(v) for v in ld["strides"])
        extra["padding"] = tuple(tuple(int(v) for v in p) for p in ld["padding"])
    elif kind == "dense":
        w_shape = (in_shape[0], out_shape[0])
    else:
        raise ValueError(f"{what}.type {kind!r} is not 'conv2d' or 'dense'")
    weights = _ints(ld["weights"], w_fmt, w_shape, f"{what}.weights")
    bias = _ints(ld["bias"], b_fmt, (out_shape[-1],), f"{what}.bias")
    expected = accumulator_format(in_fmt, w_fmt, b_fmt, int(np.prod(w_shape[:-1])))
    if acc != expected:
        raise ValueError(f"{what}.accumulator_format is not wide enough; expected {expected}")
    return Layer(
        name=ld["name"],
        kind=kind,
        input_shape=in_shape,
        output_shape=out_shape,
        weights=weights,
        weight_format=w_fmt,
        bias=bias,
        bias_format=b_fmt,
        input_format=in_fmt,
        accumulator=acc,
        output=out_fmt,
        **extra,
    )


def check_design(model: QuantizedModel, design: Design, path: str | Path) -> None:
    """Refuse a quantized model that was not made from this design's ``model``/``data`` keys.

    A later stage (HLS, RTL) generated from a stale model file would be silently wrong.

    Raises:
        ArtefactError: naming the first design key the file disagrees with.
    """
    expected = build(design.model, design.data.charge_bits, *_zero_weights(design.model))
    checks = [
        ("data.charge_bits", model.charge_bits, expected.charge_bits),
        ("model.normalization", model.normalization, expected.normalization),
        ("model.input", model.input_format, expected.input_format),
    ]
    keys = {names.CONV: "model.conv", names.DENSE: "model.dense"}
    for got, want in zip(model.layers, expected.layers, strict=True):
        key = keys[want.name]
        checks += [
            (f"{key} (output shape)", got.output_shape, want.output_shape),
            (f"{key} (kernel shape)", got.weights.shape, want.weights.shape),
            (f"{key}.weight", got.weight_format, want.weight_format),
            (f"{key}.bias", got.bias_format, want.bias_format),
            (f"{key} (output format)", got.output, want.output),
            (f"{key} (strides)", got.strides, want.strides),
        ]
    for key, got, want in checks:
        if got != want:
            raise ArtefactError(
                path,
                f"quantized model does not match the design file at {key}: file has {got}, "
                f"design asks for {want} (rerun the train and quantize steps)",
            )


def _zero_weights(m: ModelSection) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    arch = architecture(m)
    conv = (np.zeros(arch.conv_weight_shape), np.zeros(arch.filters))
    dense = (np.zeros(arch.dense_weight_shape), np.zeros(arch.latent))
    return conv, dense
