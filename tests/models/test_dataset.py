from __future__ import annotations

import numpy as np
import pytest

from econflow.config import DataSection, GeneratorSection
from econflow.errors import DataError
from econflow.models import dataset, statistics

HEADER = ",".join(dataset.CSV_COLUMNS)


def test_generator_is_seeded_integer_and_in_range():
    data = DataSection(charge_bits=12)
    a = dataset.generate(20_000, data)
    assert a.dtype == np.int32 and a.shape == (20_000, 48)
    assert np.array_equal(a, dataset.generate(20_000, data))
    assert not np.array_equal(a, dataset.generate(20_000, data, seed=99))
    assert a.min() >= 0 and a.max() <= 2**12 - 1


def test_the_default_generator_matches_the_real_inputs():
    data = DataSection()
    found = statistics.summarize(dataset.generate(50_000, data), data.mip_adc)
    assert statistics.misses(found) == []
    assert statistics.misses(found.model_copy(update={"occupancy_mode": 9})) == [
        "occupancy_mode: 9 (target 3.5)"
    ]


def _generator(**values) -> DataSection:
    return DataSection(generator=GeneratorSection(**values))


def test_modules_near_the_beam_pipe_are_dense_and_far_ones_sparse():
    inner = dataset.occupancy(dataset.generate(5000, _generator(radius_cm=[32.0, 40.0])))
    outer = dataset.occupancy(dataset.generate(5000, _generator(radius_cm=[140.0, 160.0])))
    assert inner.mean() > 35 and outer.mean() < 10 and inner.mean() > 4 * outer.mean()


def test_a_shower_puts_most_of_its_energy_in_a_few_cells():
    data = _generator(pileup_hits=0.0, shower_probability=1.0, noise_mip=0.0)
    charges = dataset.generate(2000, data).astype(float)
    top3 = np.sort(charges, axis=1)[:, -3:].sum(axis=1) / charges.sum(axis=1)
    assert np.median(top3) > 0.6 and (dataset.occupancy(charges) < 48).all()


def test_statistics_of_modules_built_to_order():
    rng = np.random.default_rng(0)
    sums = rng.exponential(10.0, 100_000)  # MIP_T, one cell each
    charges = np.zeros((len(sums), 48), np.int32)
    charges[:, 0] = np.maximum(1, np.rint(sums * 4))
    charges[:5000, :40] = 1  # 5% with 40 cells occupied
    found = statistics.summarize(charges, mip_adc=4.0)
    assert found.occupancy_mode == 1 and found.fraction_40_plus == 0.05
    assert found.fraction_46_plus == 0.0
    assert abs(found.sum_decay_mip - 10.0) < 0.5


def test_corner_cases_cover_every_normalization_shift():
    from econflow.models.fixedpoint import normalization_shift

    cases = dataset.corner_cases(16)
    assert cases.max() == 2**16 - 1
    assert set(normalization_shift(cases)) == set(range(22))
    assert (cases.sum(axis=1) == 0).any()


def write(tmp_path, text):
    path = tmp_path / "calq.csv"
    path.write_text(text)
    return path


def test_csv_with_and_without_header(tmp_path):
    row = ",".join(str(i) for i in range(48))
    a = dataset.load_csv(write(tmp_path, f"{HEADER}\n{row}\n{row}\n"))
    b = dataset.load_csv(write(tmp_path, f"{row}\n{row}\n"))
    assert np.array_equal(a, b) and a.shape == (2, 48)
    assert list(a[0]) == list(range(48))


def test_csv_header_order_is_honoured(tmp_path):
    names = list(reversed(dataset.CSV_COLUMNS))
    row = ",".join(str(i) for i in range(48))
    a = dataset.load_csv(write(tmp_path, ",".join(names) + "\n" + row + "\n"))
    assert a[0, 47] == 0 and a[0, 0] == 47


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("1,2,3\n", r"calq\.csv, line 1: expected 48 columns, got 3"),
        ("{row}\n{bad}\n", r"line 2: CALQ_5 is not a number: 'abc'"),
        ("{row}\n{nan}\n", r"line 2: CALQ_5 must be a non-negative integer charge, got 'nan'"),
        ("{row}\n{neg}\n", r"line 2: CALQ_5 must be a non-negative integer charge, got '-3'"),
        ("{row}\n{frac}\n", r"line 2: CALQ_5 must be a non-negative integer charge, got '2.5'"),
        ("CALQ_0,CALQ_1,TOTAL\n", r"line 1: header must name CALQ_0..CALQ_47"),
        ("", r"calq\.csv: no data rows"),
    ],
)
def test_bad_csv_names_file_line_and_reason(tmp_path, text, pattern):
    def with_cell(value):
        cells = ["1"] * 48
        cells[5] = value
        return ",".join(cells)

    text = text.format(
        row=with_cell("1"),
        bad=with_cell("abc"),
        nan=with_cell("nan"),
        neg=with_cell("-3"),
        frac=with_cell("2.5"),
    )
    with pytest.raises(DataError, match=pattern):
        dataset.load_csv(write(tmp_path, text))


def test_missing_csv(tmp_path):
    with pytest.raises(DataError, match="cannot read file"):
        dataset.load_csv(tmp_path / "absent.csv")
