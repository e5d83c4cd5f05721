from __future__ import annotations

import numpy as np
import pytest

from econflow.config import ModelSection
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
    m = ModelSection()
    model = autoencoder.build_autoencoder(m, 8, output_bits=5)
    assert model.get_layer("sent").output_bits == 5
    assert "sent" not in [layer.name for layer in autoencoder.build_autoencoder(m, 8).layers]
    x = np.random.default_rng(1).random((20, 8, 8, 1)).astype(np.float32)
    model.save(tmp_path / "ae.h5")
    again = load_h5(tmp_path / "ae.h5")
    assert np.array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
