"""Compression quality on a held-out set with exact EMD: autoencoder and baselines alike."""

from __future__ import annotations

import numpy as np

from econflow.models.emd import emd_batch
from econflow.models.results import EmdSummary


def summary(values: np.ndarray, bits: int, empty: np.ndarray) -> EmdSummary:
    """Mean, median and the 16th/84th percentiles (the field's one-sigma band); ``empty``
    marks the modules for which nothing was sent."""
    p16, p50, p84 = np.percentile(values, [16, 50, 84])
    return EmdSummary(
        emd_mean=float(np.mean(values)),
        emd_median=float(p50),
        emd_p16=float(p16),
        emd_p84=float(p84),
        output_bits=bits,
        empty_output_fraction=float(empty.mean()),
        emd_mean_sent=float(values[~empty].mean()) if (~empty).any() else None,
    )


def score(charges: np.ndarray, reconstructions: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Exact EMD (N,) between each reconstruction and the (non-empty) input, by name."""
    return {
        name: emd_batch(charges, rec, progress=f"EMD {name}")
        for name, rec in reconstructions.items()
    }


def metrics(
    emds: dict[str, np.ndarray], reconstructions: dict[str, np.ndarray], bits: int
) -> dict[str, EmdSummary]:
    """Per algorithm: the EMD summary, the output bits it was allowed, and how often it sent
    nothing at all (those modules score the empty-map EMD, see ``econflow.models.emd``)."""
    return {
        name: summary(values, bits, reconstructions[name].sum(axis=1) <= 0)
        for name, values in emds.items()
    }
