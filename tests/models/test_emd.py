import numpy as np
import ot
import pytest

from econflow.config import DataSection
from econflow.models import dataset, emd, geometry


def test_moving_all_charge_one_cell_costs_one_pitch():
    a = np.zeros(48)
    b = np.zeros(48)
    a[0], b[1] = 5.0, 7.0  # different totals: both are normalized to unit sum
    assert emd.emd(a, b) == pytest.approx(2.0, abs=1e-4)
    assert emd.emd(a, a * 3) == pytest.approx(0.0, abs=1e-12)


def test_empty_maps_have_a_defined_distance():
    zero = np.zeros(48)
    one = np.eye(48)[3]
    assert emd.emd(zero, zero) == 0.0
    assert emd.emd(zero, one) == emd.emd(one, zero) == pytest.approx(geometry.tc_distances().max())


def test_matches_pot_on_the_full_cost_matrix_and_is_symmetric():
    charges = dataset.generate(600, DataSection(), seed=4)
    charges = charges[charges.sum(axis=1) > 0][:400].astype(float)
    a, b = charges[:200], charges[200:400]
    fast = emd.emd_batch(a, b, workers=1)
    full = [
        ot.emd2(x / x.sum(), y / y.sum(), geometry.tc_distances())
        for x, y in zip(a, b, strict=True)
    ]
    assert np.allclose(fast, full, atol=1e-9)
    assert np.allclose(fast, emd.emd_batch(b, a, workers=1), atol=1e-9)


def test_batch_on_two_cores_equals_one_core():
    charges = dataset.generate(24_000, DataSection(), seed=8)
    a, b = charges[:12_000], charges[12_000:]
    assert np.array_equal(emd.emd_batch(a, b, workers=2), emd.emd_batch(a, b, workers=1))


def test_batch_rejects_bad_shapes_and_negative_charge():
    with pytest.raises(ValueError, match="one shape"):
        emd.emd_batch(np.ones((3, 48)), np.ones((2, 48)))
    with pytest.raises(ValueError, match="non-negative"):
        emd.emd_batch(-np.ones((3, 48)), np.ones((3, 48)))
