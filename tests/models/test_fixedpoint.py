"""The fixed-point model against QKeras: identical integers, zero mismatches."""

from __future__ import annotations

import json

import numpy as np
import pytest

from econflow.config import DataSection, ModelSection
from econflow.errors import ArtefactError
from econflow.models import dataset, fixedpoint, quantized
from econflow.models.quantized import Fixed


def test_round_shift_is_half_to_even_like_numpy():
    rng = np.random.default_rng(0)
    values = rng.integers(-5000, 5000, 20_000)
    for shift in range(0, 6):
        assert np.array_equal(fixedpoint.round_shift(values, shift), np.round(values / 2**shift))


def test_requantize_saturates_both_ends():
    fmt = Fixed(bits=4, integer=1, signed=True)  # frac 2, ints -8..7
    out = fixedpoint.requantize(np.array([-1000, -9, 9, 11, 29, 1000]), 3, fmt)
    assert list(out) == [-8, -4, 4, 6, 7, 7]  # -4.5, 4.5, 5.5 round half to even


def test_normalization_shift_is_floor_log2_of_the_sum():
    charges = np.zeros((5, 48), np.int64)
    charges[:, 0] = [0, 1, 2, 3, 2**21 - 1]
    charges[4, 1] = 1
    assert list(fixedpoint.normalization_shift(charges)) == [0, 0, 1, 1, 21]


@pytest.fixture(scope="module", params=["econt", "odd_formats"])
def random_encoder(request):
    """An encoder with random weights large enough to exercise rounding and saturation."""
    from econflow.models import autoencoder

    if request.param == "econt":
        m = ModelSection()
    else:
        m = ModelSection.model_validate(
            {
                "input": {"bits": 10, "integer": 3},
                "conv": {
                    "filters": 3,
                    "kernel": 5,
                    "stride": 3,
                    "weight": {"bits": 5, "integer": 1},
                    "bias": {"bits": 10, "integer": 3},
                    "activation": {"bits": 7, "integer": 3},
                },
                "dense": {
                    "latent": 6,
                    "weight": {"bits": 4, "integer": 0},
                    "bias": {"bits": 6, "integer": 0},
                },
                "latent": {"bits": 5, "integer": 0},
            }
        )
    encoder = autoencoder.build_encoder(m)
    rng = np.random.default_rng(1)
    for layer in encoder.layers:
        if layer.get_weights():
            layer.set_weights([rng.normal(0, 0.7, w.shape) for w in layer.get_weights()])
    return m, encoder


def test_fixed_point_model_matches_qkeras_bit_for_bit(random_encoder, tmp_path):
    from econflow.models import autoencoder

    m, encoder = random_encoder
    path = tmp_path / "q.json"
    quantized.save(autoencoder.quantized_model(encoder, m, 16), path)
    model = quantized.load(path)
    charges = np.concatenate([dataset.generate(4000, DataSection()), dataset.corner_cases(16)])
    golden = fixedpoint.evaluate(model, charges)
    scaled = encoder.predict(autoencoder.normalize(charges, m), verbose=0) * 2.0**model.latent.frac
    assert np.array_equal(scaled, np.rint(scaled))
    mismatches = (np.rint(scaled).astype(np.int64) != golden).any(axis=1).sum()
    assert mismatches == 0
    # The check is not vacuous: outputs vary, and both rails are reached.
    assert len(np.unique(golden)) > 20
    assert (golden == 0).any() and (golden == model.latent.max_int).any()


@pytest.fixture
def saved(random_encoder, tmp_path):
    from econflow.models import autoencoder

    m, encoder = random_encoder
    path = tmp_path / "q.json"
    quantized.save(autoencoder.quantized_model(encoder, m, 16), path)
    return path


def flatten(nested):
    for item in nested:
        yield from flatten(item) if isinstance(item, list) else [item]


def narrow_accumulator(doc):
    acc = doc["layers"][1]["accumulator_format"]
    acc.update(bits=acc["frac"] + 2, integer=1)


def edit(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_file_is_plain_integers_and_round_trips(saved):
    doc = json.loads(saved.read_text())
    assert doc["format"] == "econflow-quantized-model" and doc["version"] == 1
    assert all(type(v) is int for v in flatten(doc["layers"][0]["weights"]))
    assert doc["layers"][0]["output_format"]["rounding"] == "half_even"
    model = quantized.load(saved)
    again = saved.with_name("again.json")
    quantized.save(model, again)
    assert json.loads(again.read_text()) == doc


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (
            lambda d: d.update(version=2),
            r"quantized model file version 2; this econflow reads version 1",
        ),
        (lambda d: d.update(format="onnx"), r"not an econflow quantized model"),
        (
            lambda d: d["layers"][0]["weights"][0][0][0].__setitem__(0, 999),
            r"layers\[0\]\.weights\[0, 0, 0, 0\] = 999 does not fit",
        ),
        (lambda d: d["layers"][1]["bias"].append(0), r"layers\[1\]\.bias: shape"),
        (lambda d: d["layers"][1].pop("weights"), r"missing key 'weights'"),
        (
            lambda d: d["layers"][0]["output_format"].update(rounding="truncate"),
            r"only half_even rounding",
        ),
        (narrow_accumulator, r"accumulator_format is not wide enough"),
    ],
)
def test_loader_rejects_inconsistent_files(saved, change, pattern):
    edit(saved, change)
    with pytest.raises(ArtefactError, match=pattern):
        quantized.load(saved)


def test_loader_rejects_missing_and_non_json(tmp_path):
    with pytest.raises(ArtefactError, match="cannot read quantized model"):
        quantized.load(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ArtefactError, match=r"not JSON \(line 1"):
        quantized.load(bad)
