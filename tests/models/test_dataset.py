from __future__ import annotations

import numpy as np
import pytest

from econflow.config import DataSection
from econflow.errors import DataError
from econflow.models import dataset

HEADER = ",".join(dataset.CSV_COLUMNS)


def test_generator_is_seeded_integer_and_in_range():
    data = DataSection(charge_bits=12)
    a = dataset.generate(20_000, data)
    assert a.dtype == np.int32 and a.shape == (20_000, 48)
    assert np.array_equal(a, dataset.generate(20_000, data))
    assert not np.array_equal(a, dataset.generate(20_000, data, seed=99))
    assert a.min() >= 0 and a.max() <= 2**12 - 1


def test_generator_spans_empty_to_full_modules_with_showers():
    charges = dataset.generate(50_000, DataSection())
    occ = dataset.occupancy(charges)
    assert (occ == 0).any() and occ.max() >= 46
    assert 8 < occ.mean() < 30
    # Showers: a minority of modules carry large sums, concentrated in a few cells.
    sums = charges.sum(axis=1)
    assert np.percentile(sums, 99) > 20 * np.median(sums)
    hottest = charges.max(axis=1) / np.maximum(sums, 1)
    assert (hottest[sums > np.percentile(sums, 99)] > 0.2).mean() > 0.5


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
