"""The field's non-neural compression algorithms, held to the autoencoder's output bit budget.

Each takes int charges (N, 48) and returns the reconstructed (N, 48) map the back end would
see, so it can be scored with the same exact EMD as the autoencoder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from econflow.models.geometry import N_TC, supercell_groups

ADDRESS_BITS = 6  # one of 48 trigger cells
EXPONENT_BITS = 4


@dataclass(frozen=True)
class Budget:
    """Output bits per module and the width of a transmitted charge."""

    bits: int
    value_bits: int

    @property
    def cells(self) -> int:
        """Trigger cells a cell-list algorithm can send: address plus value each."""
        return self.bits // (ADDRESS_BITS + self.value_bits)


def encode_float(values: np.ndarray, value_bits: int) -> np.ndarray:
    """Round charges to ``value_bits - 4`` significant bits (4-bit exponent), as sent.

    Dropped low bits are restored at half their range, the unbiased reconstruction.
    """
    mantissa = value_bits - EXPONENT_BITS
    v = np.asarray(values, dtype=np.int64)
    length = np.zeros_like(v)
    live = v > 0
    length[live] = np.floor(np.log2(v[live])).astype(np.int64) + 1
    exponent = np.clip(length - mantissa, 0, 2**EXPONENT_BITS - 1)
    kept = (v >> exponent) << exponent
    half = np.where(exponent > 0, np.left_shift(1, np.maximum(exponent - 1, 0)), 0)
    return np.where(kept > 0, kept + half, 0).astype(np.float64)


def best_choice(charges: np.ndarray, budget: Budget) -> np.ndarray:
    """Keep the N largest trigger cells, N set by the budget."""
    return _keep_largest(charges, budget, np.ones(charges.shape, dtype=bool))


def threshold(charges: np.ndarray, budget: Budget, threshold_adc: float) -> np.ndarray:
    """Keep trigger cells above a threshold (ECON-T: about 1.35 MIP_T), largest first."""
    return _keep_largest(charges, budget, charges >= threshold_adc)


def _keep_largest(charges: np.ndarray, budget: Budget, eligible: np.ndarray) -> np.ndarray:
    n = min(budget.cells, N_TC)
    order = np.argsort(-np.where(eligible, charges, -1), axis=1, kind="stable")[:, :n]
    out = np.zeros(charges.shape, dtype=np.float64)
    rows = np.arange(len(charges))[:, None]
    sent = charges[rows, order]
    out[rows, order] = np.where(eligible[rows, order], encode_float(sent, budget.value_bits), 0)
    return out


def supercell_size(budget: Budget) -> int | None:
    """Finest super-trigger-cell grouping (2x2 or 4x4) whose sums and locations fit."""
    for size in (2, 4):
        groups = len(supercell_groups(size))
        location_bits = int(np.log2(size * size))
        if groups * (budget.value_bits + location_bits) <= budget.bits:
            return size
    return None


def super_trigger_cells(charges: np.ndarray, budget: Budget) -> np.ndarray | None:
    """Sum each group of TCs and place the sum on its largest cell (ECON-T STC).

    Returns None when even 4x4 super cells do not fit the budget.
    """
    size = supercell_size(budget)
    if size is None:
        return None
    groups = supercell_groups(size)
    members = charges[:, groups]
    sums = encode_float(members.sum(axis=2), budget.value_bits)
    top = groups[np.arange(len(groups))[None, :], members.argmax(axis=2)]
    out = np.zeros(charges.shape, dtype=np.float64)
    np.put_along_axis(out, top, sums, axis=1)
    return out


def all_baselines(
    charges: np.ndarray, budget: Budget, threshold_adc: float
) -> dict[str, np.ndarray]:
    """Every baseline that fits the budget, by name."""
    makers: dict[str, Callable[[], np.ndarray | None]] = {
        "threshold": lambda: threshold(charges, budget, threshold_adc),
        "best_choice": lambda: best_choice(charges, budget),
        "super_trigger_cell": lambda: super_trigger_cells(charges, budget),
    }
    results = {name: make() for name, make in makers.items()}
    return {name: out for name, out in results.items() if out is not None}
