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


def test_gradient_is_the_derivative_of_the_exact_emd():
    """The dual potentials are the EMD's derivative: a small move of the reconstruction's
    charge changes the exact EMD by the gradient's dot product with the move."""
    rng = np.random.default_rng(5)
    charges = dataset.generate(400, DataSection(), seed=6)
    a = charges[charges.sum(axis=1) > 0][:40].astype(float)
    b = rng.dirichlet(np.ones(48), len(a))
    values, grads = emd.emd_and_gradient(a, b)
    assert np.allclose(values, emd.emd_batch(a, b, workers=1), atol=1e-6)
    step = 1e-5
    for x, y, g in zip(a, b, grads, strict=True):
        move = rng.normal(size=48) * y  # keeps every cell positive for a small step
        change = (emd.emd(x, y + step * move) - emd.emd(x, y - step * move)) / (2 * step)
        assert change == pytest.approx(float(g @ move), rel=1e-3, abs=1e-6)


def test_gradient_of_an_empty_reconstruction_is_zero():
    a, b = np.eye(48)[[2, 5]], np.zeros((2, 48))
    b[1, 7] = 1.0
    values, grads = emd.emd_and_gradient(a, b)
    assert values[0] == pytest.approx(emd.empty_penalty())
    assert not grads[0].any() and grads[1].any()
