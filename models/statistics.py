"""The statistics that say whether module charge maps look like the detector's, in MIP_T, and
their values on the real ECON-T inputs.

The targets are read off the dataset-feature plots of the public ECON-T training code
(electron gun with 200 pileup, HGCAL layers 5-11, ``CALQ_*`` charges, CALQ / 35 = MIP_T as in
its ``train.py``). The sum's decay length is the slope of its histogram on a log scale over
0-43 MIP_T, where the plots show it falling steadily.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from econflow.models import dataset
from econflow.models.geometry import N_TC
from econflow.models.results import ChargeStatistics

SUM_FIT_MIP = 43.0  # the range of the sum's exponential fit (MIP_T)


@dataclass(frozen=True)
class Target:
    """A statistic of the real inputs and how close a generator must come: within
    ``relative`` of it, or within ``absolute`` for fractions."""

    value: float
    relative: float = 0.2
    absolute: float | None = None

    def met(self, found: float) -> bool:
        if self.absolute is not None:
            return abs(found - self.value) <= self.absolute
        return abs(found - self.value) <= self.relative * self.value


TARGETS: dict[str, Target] = {
    "occupancy_mode": Target(3.5),  # 3-4
    "occupancy_median": Target(12.0),
    "occupancy_mean": Target(16.0),
    "fraction_40_plus": Target(0.09, absolute=0.02),
    "fraction_46_plus": Target(0.03, absolute=0.02),
    "sum_median_mip": Target(11.5),  # 10-13
    "sum_decay_mip": Target(18.0),
}


def summarize(charges: np.ndarray, mip_adc: float) -> ChargeStatistics:
    """The statistics of ``charges`` (int (N, 48), ADC counts of ``mip_adc`` per MIP_T)."""
    occupancy = dataset.occupancy(charges)
    counts = np.bincount(occupancy, minlength=N_TC + 1)
    smooth = np.convolve(counts, np.ones(3) / 3, mode="same")  # a mode robust to noise
    sums = charges.astype(np.float64).sum(axis=1) / mip_adc
    return ChargeStatistics(
        occupancy_mode=int(np.argmax(smooth[1:]) + 1),
        occupancy_median=float(np.median(occupancy)),
        occupancy_mean=float(occupancy.mean()),
        fraction_40_plus=float((occupancy >= 40).mean()),
        fraction_46_plus=float((occupancy >= 46).mean()),
        sum_median_mip=float(np.median(sums)),
        sum_decay_mip=_decay_length(sums),
    )


def _decay_length(sums: np.ndarray) -> float:
    """Decay length (MIP_T) of the sums' histogram over 0-43 MIP_T, from a least-squares
    line through the logarithm of its 1 MIP_T bins (weighted by their counts)."""
    counts, edges = np.histogram(sums, bins=int(SUM_FIT_MIP), range=(0.0, SUM_FIT_MIP))
    centres = (edges[1:] + edges[:-1]) / 2
    used = counts > 0
    if used.sum() < 2:
        return float("nan")
    slope = np.polyfit(centres[used], np.log(counts[used]), 1, w=np.sqrt(counts[used]))[0]
    return float(-1.0 / slope) if slope < 0 else float("inf")


def misses(found: ChargeStatistics) -> list[str]:
    """The statistics off their target, each as ``name: found (target)``."""
    return [
        f"{name}: {getattr(found, name):.4g} (target {target.value:g})"
        for name, target in TARGETS.items()
        if not target.met(getattr(found, name))
    ]
