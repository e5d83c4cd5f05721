"""The ECON-T autoencoder: a QKeras encoder (the ASIC) and a float decoder (training only)."""

from __future__ import annotations

import numpy as np
from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

from econflow import architecture as names
from econflow.architecture import architecture
from econflow.config import FixedFormat, ModelSection, TrainingSection
from econflow.models import quantized
from econflow.models._keras import tf
from econflow.models.fixedpoint import normalized
from econflow.models.geometry import N_TC, econt_layout, to_image

keras = tf.keras
ENCODER = "encoder"
DECODER = "decoder"


def signed_quantizer(fmt: FixedFormat) -> quantized_bits:
    """QKeras quantizer for a signed format (weights, biases); alpha=1 keeps it a plain grid."""
    return quantized_bits(fmt.bits, fmt.integer, keep_negative=True, alpha=1)


def input_quantizer(fmt: FixedFormat) -> quantized_bits:
    return quantized_bits(fmt.bits, fmt.integer, keep_negative=False, alpha=1)


def relu_quantizer(fmt: FixedFormat) -> quantized_relu:
    return quantized_relu(fmt.bits, fmt.integer)


def build_encoder(m: ModelSection) -> keras.Model:
    """Quantized encoder: (8, 8, 1) normalized charges to (latent,) quantized values."""
    x = keras.Input(architecture(m).image_shape, name=names.INPUT)
    h = QActivation(input_quantizer(m.input), name=names.INPUT_QUANTIZER)(x)
    h = QConv2D(
        m.conv.filters,
        m.conv.kernel,
        strides=m.conv.stride,
        padding="same",
        kernel_quantizer=signed_quantizer(m.conv.weight),
        bias_quantizer=signed_quantizer(m.conv.bias),
        name=names.CONV,
    )(h)
    h = QActivation(relu_quantizer(m.conv.activation), name=names.CONV_ACTIVATION)(h)
    h = keras.layers.Flatten(name=names.FLATTEN)(h)
    h = QDense(
        m.dense.latent,
        kernel_quantizer=signed_quantizer(m.dense.weight),
        bias_quantizer=signed_quantizer(m.dense.bias),
        name=names.DENSE,
    )(h)
    z = QActivation(relu_quantizer(m.latent), name=names.LATENT)(h)
    return keras.Model(x, z, name=ENCODER)


def build_decoder(m: ModelSection, t: TrainingSection) -> keras.Model:
    """Float decoder (off-detector): latent values to a (48,) unit-sum map.

    Dense layers, reshape to the conv output's grid, transposed convolution to the 8x8
    image, convolutions, then a fixed selection of the 48 used pixels and a softmax, so the
    output is a distribution like the normalized input (sizes: :class:`TrainingSection`).
    """
    arch = architecture(m)
    rows, cols, _ = arch.conv_shape
    filters = t.decoder_filters or m.conv.filters
    z = keras.Input((arch.latent,), name=names.LATENT)
    h = keras.layers.Dense(t.decoder_units, activation="relu")(z)
    h = keras.layers.Dense(rows * cols * filters, activation="relu")(h)
    h = keras.layers.Reshape((rows, cols, filters))(h)
    h = keras.layers.Conv2DTranspose(
        filters, m.conv.kernel, strides=m.conv.stride, padding="same", activation="relu"
    )(h)
    for _ in range(t.decoder_convolutions):
        h = keras.layers.Conv2D(max(1, filters // 2), 3, padding="same", activation="relu")(h)
    h = keras.layers.Conv2D(1, 3, padding="same")(h)
    h = keras.layers.Flatten()(h)
    select = keras.layers.Dense(N_TC, use_bias=False, trainable=False, name="select_tc")
    logits = select(h)
    select.set_weights([_pixel_selection()])
    out = keras.layers.Softmax(name="unit_sum")(logits)
    return keras.Model(z, out, name=DECODER)


def _pixel_selection() -> np.ndarray:
    pixel_tc, used = econt_layout()
    matrix = np.zeros((len(pixel_tc), N_TC), dtype=np.float32)
    matrix[np.flatnonzero(used), pixel_tc[used]] = 1.0
    return matrix


@keras.saving.register_keras_serializable(package="econflow")
class Truncation(keras.layers.Layer):
    """What the back end receives when the ASIC sends the ``output_bits`` most significant
    bits of each latent value (``hardware.output_bits``): the kept value put back at the
    middle of the dropped range, zero staying zero. The gradient passes straight through, so
    an autoencoder trained with it learns the code the hardware actually sends."""

    def __init__(self, integer: int, output_bits: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.integer, self.output_bits = integer, output_bits

    def call(self, z: tf.Tensor) -> tf.Tensor:
        step = 2.0 ** (self.integer - self.output_bits)
        kept = tf.floor(z / step) * step
        sent = tf.where(kept > 0, kept + step / 2, tf.zeros_like(kept))
        return z + tf.stop_gradient(sent - z)

    def get_config(self) -> dict[str, object]:
        return {**super().get_config(), "integer": self.integer, "output_bits": self.output_bits}


def build_autoencoder(
    m: ModelSection, t: TrainingSection, output_bits: int | None = None
) -> keras.Model:
    """Encoder and decoder (sized by ``t``); with ``output_bits`` below the latent width, the
    decoder reads the truncated values the hardware sends (:class:`Truncation`)."""
    encoder = build_encoder(m)
    decoder = build_decoder(m, t)
    x = keras.Input(architecture(m).image_shape, name=names.INPUT)
    z = encoder(x)
    if output_bits is not None and output_bits < m.latent.bits:
        z = Truncation(m.latent.integer, output_bits, name="sent")(z)
    return keras.Model(x, decoder(z), name="autoencoder")


def normalize(charges: np.ndarray, m: ModelSection) -> np.ndarray:
    """Encoder input for training and QKeras, float32 (N, 8, 8, 1), exact (see ``normalized``)."""
    return to_image(normalized(charges, m.normalization).astype(np.float32))


def quantized_model(
    encoder: keras.Model, m: ModelSection, charge_bits: int
) -> quantized.QuantizedModel:
    """Read the trained encoder's quantized weights and biases as integers."""
    conv = _integer_parameters(encoder.get_layer(names.CONV), m.conv.weight, m.conv.bias)
    dense = _integer_parameters(encoder.get_layer(names.DENSE), m.dense.weight, m.dense.bias)
    return quantized.build(m, charge_bits, conv, dense)


def _integer_parameters(
    layer: keras.layers.Layer, weight: FixedFormat, bias: FixedFormat
) -> tuple[np.ndarray, np.ndarray]:
    kernel, offset = layer.get_weights()
    return _to_int(kernel, weight), _to_int(offset, bias)


def _to_int(values: np.ndarray, fmt: FixedFormat) -> np.ndarray:
    """Quantize with the layer's own QKeras quantizer and scale to integers (exact)."""
    q = np.asarray(signed_quantizer(fmt)(tf.constant(values)), dtype=np.float64)
    scaled = q * 2.0 ** fmt.fixed(True).frac
    ints = np.rint(scaled).astype(np.int64)
    if not np.array_equal(ints, scaled):
        raise ValueError(f"quantized values are not on the {fmt.bits}-bit grid")
    return ints
