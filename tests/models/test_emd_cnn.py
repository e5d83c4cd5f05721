from __future__ import annotations

import numpy as np
import pytest

from econflow.config import DataSection, EmdCnnSection
from econflow.errors import ArtefactError
from econflow.models import dataset, emd_cnn, geometry, losses

SMALL = EmdCnnSection(filters=4, conv_layers=2, dense=8, epochs=1)


@pytest.fixture(scope="module")
def pairs():
    charges = dataset.generate(3000, DataSection(), seed=3)
    return emd_cnn.make_pairs(charges, 600, seed=4)


def test_pairs_are_unit_sum_and_labelled_with_exact_emd(pairs):
    from econflow.models.emd import emd_batch

    assert np.allclose(pairs.a.sum(axis=1), 1, atol=1e-5)
    assert np.allclose(pairs.b.sum(axis=1), 1, atol=1e-5)
    assert np.allclose(pairs.emd[:50], emd_batch(pairs.a[:50], pairs.b[:50]), rtol=1e-4)
    real, reco = pairs.emd[pairs.kind == 0], pairs.emd[pairs.kind == 1]
    assert real.mean() > reco.mean() > 0


def test_network_is_symmetric_and_survives_h5(pairs, tmp_path):
    model = emd_cnn.train(SMALL, pairs, progress=False)
    ab = emd_cnn.predict(model, pairs.a, pairs.b)
    ba = emd_cnn.predict(model, pairs.b, pairs.a)
    assert np.allclose(ab, ba, rtol=1e-5)
    path = tmp_path / "emd_cnn.h5"
    model.save(path)
    again = emd_cnn.load(path)
    assert np.allclose(emd_cnn.predict(again, pairs.a, pairs.b), ab, rtol=1e-5)
    assert not again.trainable


def test_network_is_the_same_for_the_modules_rotations(pairs):
    """Turning both maps by 120 degrees (TC i to TC i + 16) leaves exact EMD and estimate."""
    from econflow.models.emd import emd_batch

    model = emd_cnn.train(SMALL, pairs, progress=False)
    a, b = pairs.a[:200], pairs.b[:200]
    turned = np.roll(a, 16, axis=1), np.roll(b, 16, axis=1)
    assert np.allclose(emd_batch(*turned), emd_batch(a, b), rtol=1e-5)  # float32 maps
    estimate = emd_cnn.predict(model, a, b)
    assert np.allclose(emd_cnn.predict(model, *turned), estimate, rtol=1e-5)
    one_turn = emd_cnn.predict(emd_cnn.trainer(model), a, b)
    assert not np.allclose(one_turn, estimate, rtol=1e-3)  # the rotations do differ


def test_network_scales_with_the_moving_mass_as_exact_emd_does(pairs):
    """Moving b a fraction t of the way back to a scales the exact EMD by 1 - t (the ground
    distance is a metric); the network reads only a - b, so its estimate scales the same."""
    from econflow.models.emd import emd_batch

    model = emd_cnn.build(SMALL)
    apart = pairs.emd > 0.1  # float32 maps: a few 1e-8 of EMD are left where a equals b
    a, b = pairs.a[apart][:200], pairs.b[apart][:200]
    for t in (0.25, 0.5, 0.9):
        moved = (t * a + (1 - t) * b).astype(np.float32)
        assert np.allclose(emd_batch(a, moved), (1 - t) * emd_batch(a, b), rtol=1e-4)
        assert np.allclose(
            emd_cnn.predict(model, a, moved), (1 - t) * emd_cnn.predict(model, a, b), rtol=1e-4
        )
    assert np.allclose(emd_cnn.predict(model, a, a), 0.0)


def test_emd_loss_reads_the_network_in_random_rotations(pairs):
    from econflow.models._keras import tf

    model = emd_cnn.build(SMALL)
    loss = losses.make_loss("emd", model)
    a, b = pairs.a[:1], pairs.b[:1]
    readings = [
        emd_cnn.predict(emd_cnn.trainer(model), np.roll(a, 16 * k, 1), np.roll(b, 16 * k, 1))[0]
        for k in range(3)
    ]
    single = [float(loss(tf.constant(a), tf.constant(b))) for _ in range(20)]
    assert all(min(abs(v - r) for r in readings) < 1e-5 * max(readings) for v in single)
    assert len({round(v, 6) for v in single}) > 1
    many = float(loss(tf.constant(np.repeat(a, 3000, 0)), tf.constant(np.repeat(b, 3000, 0))))
    assert many == pytest.approx(emd_cnn.predict(model, a, b)[0], rel=0.03)


def test_telescope_and_mse_are_zero_only_for_equal_maps(pairs):
    from econflow.models._keras import tf

    a, b = tf.constant(pairs.a[:16]), tf.constant(pairs.b[:16])
    for name in ("telescope", "mse"):
        loss = losses.make_loss(name)
        assert float(loss(a, a)) == 0.0
        assert float(loss(a, b)) > 0.0


def test_exact_emd_loss_is_the_mean_exact_emd_and_its_gradient(pairs):
    from econflow.models._keras import tf
    from econflow.models.emd import emd_and_gradient

    a, b = pairs.a[:32], pairs.b[:32]
    loss = losses.make_loss("emd_exact")
    pred = tf.constant(b)
    with tf.GradientTape() as tape:
        tape.watch(pred)
        value = loss(tf.constant(a), pred)
    values, grads = emd_and_gradient(a, b)
    assert float(value) == pytest.approx(values.mean(), rel=1e-6)
    assert np.allclose(tape.gradient(value, pred).numpy(), grads / len(a), atol=1e-7)


def test_unknown_loss_and_missing_network():
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        losses.make_loss("hinge")
    with pytest.raises(ValueError, match="needs a trained EMD-CNN"):
        losses.make_loss("emd")


def test_missing_or_corrupt_h5(tmp_path):
    with pytest.raises(ArtefactError, match="model file is missing"):
        emd_cnn.load(tmp_path / "absent.h5")
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n garbage")
    with pytest.raises(ArtefactError, match=r"bad\.h5: not a readable Keras \.h5 model"):
        emd_cnn.load(bad)


def test_telescope_sees_neighbours_across_chip_boundaries():
    """Charge moved to the neighbour across a chip boundary costs less than moved as far
    inside the other chip: only the boundary windows tell them apart."""
    from econflow.models._keras import tf

    loss = losses.make_loss("telescope")
    d = geometry.tc_distances()
    start, neighbour = 0, 31
    far = max((c for c in range(16, 32)), key=lambda c: d[start, c])
    assert d[start, neighbour] < 2.0 < d[start, far]
    maps = np.zeros((3, 48), np.float32)
    maps[:, 5] = 0.5
    maps[0, start] = maps[1, neighbour] = maps[2, far] = 0.5
    true = tf.constant(maps[:1])
    near_cost = float(loss(true, tf.constant(maps[1:2])))
    far_cost = float(loss(true, tf.constant(maps[2:3])))
    assert 0 < near_cost < far_cost
