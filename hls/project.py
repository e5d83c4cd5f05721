"""hls4ml projects of the encoder, every precision taken from the quantized model file.

hls4ml reads QKeras quantizers itself, but not all correctly: it turns an unsigned
``quantized_bits`` input quantizer into a signed type with one fractional bit fewer, and it
leaves the pre-activation results at a default width that truncates the accumulator. So
every type here is set from the quantized model file instead.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

from econflow import architecture as names
from econflow import tools
from econflow.errors import EconflowError, ToolFailedError
from econflow.fixed import Fixed
from econflow.models.quantized import QuantizedModel

BACKENDS = {"catapult": "Catapult", "vitis": "Vitis"}
# Wide enough for any pow2-normalized charge (below 2, at most 22 fractional bits) or raw one.
INPUT_TYPE = "ap_ufixed<32,10>"


def hls_type(fmt: Fixed, quantized: bool = True) -> str:
    """hls4ml's name for a format; hls4ml counts the sign bit among the integer bits.

    ``quantized`` types round half to even (``RND_CONV``) and saturate, as QKeras does;
    accumulators are exact and need neither.
    """
    prefix = "fixed" if fmt.signed else "ufixed"
    integer = fmt.integer + int(fmt.signed)
    modes = ",RND_CONV,SAT" if quantized else ""
    return f"{prefix}<{fmt.bits},{integer}{modes}>"


def hls_config(encoder: Any, model: QuantizedModel) -> dict[str, Any]:
    """hls4ml configuration with every layer's types from the quantized model file."""
    import hls4ml

    config = hls4ml.utils.config_from_keras_model(encoder, granularity="name")
    layers = config["LayerName"]
    if model.normalization == "none" and model.charge_bits > 31:
        raise EconflowError(
            f"{model.charge_bits}-bit raw charges do not fit the HLS input type {INPUT_TYPE}"
        )
    layers[names.INPUT]["Precision"]["result"] = INPUT_TYPE
    layers[names.INPUT_QUANTIZER]["Precision"]["result"] = hls_type(model.input_format)
    activations = (names.CONV_ACTIVATION, names.LATENT)
    for layer, activation in zip(model.layers, activations, strict=True):
        acc = hls_type(layer.accumulator, quantized=False)
        precision = layers[layer.name]["Precision"]
        precision.update(
            weight=hls_type(layer.weight_format),
            bias=hls_type(layer.bias_format),
            accum=acc,
            result=acc,
        )
        layers[f"{layer.name}_linear"]["Precision"]["result"] = acc
        layers[activation]["Precision"]["result"] = hls_type(layer.output)
    return config


def build(
    encoder: Any,
    model: QuantizedModel,
    backend: str,
    out_dir: Path,
    clock_period_ns: float,
    part: str,
) -> Any:
    """Write and compile one backend's project; returns the hls4ml model for C simulation.

    hls4ml's chatter goes to ``<out_dir>.log``.
    """
    import hls4ml

    tools.find("g++", "the hls step compiles the C simulation with it")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.with_suffix(".tar.gz").unlink(missing_ok=True)
    log = out_dir.with_suffix(".log")
    extra = {"part": part} if backend == "vitis" else {}
    with log.open("w") as handle, contextlib.redirect_stdout(handle):
        try:
            hls_model = hls4ml.converters.convert_from_keras_model(
                encoder,
                hls_config=hls_config(encoder, model),
                output_dir=str(out_dir),
                project_name="econt_encoder",
                backend=BACKENDS[backend],
                io_type="io_parallel",
                clock_period=clock_period_ns,
                **extra,
            )
            hls_model.compile()
        except Exception as exc:  # hls4ml raises bare Exceptions for compiler failures
            handle.write(f"\n{type(exc).__name__}: {exc}\n")
            raise ToolFailedError(
                f"hls4ml {BACKENDS[backend]} C simulation build", 1, log
            ) from None
    return hls_model
