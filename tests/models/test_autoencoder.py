from __future__ import annotations

import numpy as np
import pytest

from econflow.config import ModelSection, TrainingSection
from econflow.models import autoencoder
from econflow.models._keras import load_h5, tf


@pytest.mark.parametrize("output_bits", [3, 5, 7])
def test_truncation_is_what_the_hardware_sends(output_bits):
    """The ASIC sends the top bits of each 9-bit latent integer; the back end puts the value
    back at the middle of the dropped range, zero staying zero."""
    ints = np.arange(512)
    z = tf.constant((ints / 2.0**8)[:, None], tf.float32)
    sent = autoencoder.Truncation(1, output_bits)(z).numpy()[:, 0]
    drop = 9 - output_bits
    kept = ints >> drop
    expected = np.where(kept > 0, (kept << drop) + 2 ** (drop - 1), 0) / 2.0**8
    assert np.array_equal(sent, expected)
    with tf.GradientTape() as tape:
        tape.watch(z)
        total = tf.reduce_sum(autoencoder.Truncation(1, output_bits)(z))
    assert np.array_equal(tape.gradient(total, z).numpy(), np.ones((512, 1)))


def test_autoencoder_with_truncation_survives_h5(tmp_path):
    m, t = ModelSection(), TrainingSection(decoder_units=8)
    model = autoencoder.build_autoencoder(m, t, output_bits=5)
    assert model.get_layer("sent").output_bits == 5
    assert "sent" not in [layer.name for layer in autoencoder.build_autoencoder(m, t).layers]
    x = np.random.default_rng(1).random((20, 8, 8, 1)).astype(np.float32)
    model.save(tmp_path / "ae.h5")
    again = load_h5(tmp_path / "ae.h5")
    assert np.array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_the_decoder_grows_by_its_settings_and_the_encoder_stays_the_same():
    """The decoder is off-detector: wider and deeper, it changes no weight the ASIC holds."""
    m = ModelSection()

    def shapes(model):
        return [tuple(w.shape) for w in model.get_weights()]

    plain = autoencoder.build_autoencoder(m, TrainingSection(decoder_units=128))
    wide = autoencoder.build_autoencoder(
        m, TrainingSection(decoder_units=512, decoder_filters=32, decoder_convolutions=1)
    )
    assert shapes(plain.get_layer("encoder")) == shapes(wide.get_layer("encoder"))
    conv = [layer for layer in plain.get_layer("decoder").layers if "conv" in layer.name]
    assert [layer.filters for layer in conv] == [m.conv.filters, 1]
    conv = [layer for layer in wide.get_layer("decoder").layers if "conv" in layer.name]
    assert [layer.filters for layer in conv] == [32, 16, 1]
    assert wide.get_layer("decoder").output_shape == (None, 48)
    x = np.random.default_rng(2).random((5, 8, 8, 1)).astype(np.float32)
    assert np.allclose(wide.predict(x, verbose=0).sum(axis=1), 1.0, atol=1e-5)
