import numpy as np

from econflow.models import baselines

BUDGET = baselines.Budget(bits=144, value_bits=7)


def test_budget_and_float_encoding():
    assert BUDGET.cells == 11  # 144 bits / (6 address + 7 value)
    values = np.array([0, 5, 15, 16, 17, 100, 65535])
    sent = baselines.encode_float(values, 7)
    # Below 8 a value is exact; above, the dropped bits come back as half their range.
    assert list(sent[:4]) == [0, 5, 15, 18]
    assert abs(sent[-1] - 65535) / 65535 < 1 / 8  # 3 mantissa bits
    assert sent[5] == 104  # 0b1100100 keeps 0b110 << 4 = 96, plus half of 16


def test_best_choice_keeps_the_largest_cells():
    charges = np.arange(48)[None].repeat(2, axis=0)
    out = baselines.best_choice(charges, BUDGET)
    assert (out > 0).sum(axis=1).tolist() == [11, 11]
    assert (out[0, 37:] > 0).all() and (out[0, :37] == 0).all()


def test_threshold_drops_cells_below_it():
    charges = np.zeros((1, 48), int)
    charges[0, [1, 2, 3]] = [3, 6, 50]
    out = baselines.threshold(charges, BUDGET, threshold_adc=5.4)
    assert list(np.flatnonzero(out[0])) == [2, 3]


def test_super_trigger_cells_keep_group_sums_on_the_hottest_cell():
    charges = np.zeros((1, 48), int)
    charges[0, [0, 1, 4, 5]] = [1, 1, 2, 3]  # one 2x2 group of chip 0, sum 7 (sent exactly)
    out = baselines.super_trigger_cells(charges, BUDGET)
    assert baselines.supercell_size(BUDGET) == 2
    assert list(np.flatnonzero(out[0])) == [5] and out[0, 5] == 7
    tight = baselines.Budget(bits=36, value_bits=7)
    assert baselines.supercell_size(tight) == 4
    assert baselines.super_trigger_cells(charges, baselines.Budget(bits=10, value_bits=7)) is None
