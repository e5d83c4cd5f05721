"""Compression quality as plain data: the EMD histogram of each algorithm and its EMD against
module occupancy. The train step stores them in the models metrics (section ``quality``); the
stage's figures and the report are drawn from them."""

from __future__ import annotations

import numpy as np

from econflow.models.results import EmdHistogram, EmdProfile

OCCUPANCY_EDGES = (1, 2, 4, 6, 9, 13, 18, 24, 31, 39, 49)
HISTOGRAM_BINS = 80


def emd_histogram(emds: dict[str, np.ndarray]) -> EmdHistogram:
    """Counts per EMD bin (shared edges up to the 99.5th percentile) and mean per algorithm."""
    top = max(float(np.percentile(v, 99.5)) for v in emds.values())
    edges = np.linspace(0, top, HISTOGRAM_BINS + 1)
    return EmdHistogram(
        edges=[round(float(e), 5) for e in edges],
        counts={name: np.histogram(v, bins=edges)[0].tolist() for name, v in emds.items()},
        mean={name: round(float(v.mean()), 5) for name, v in emds.items()},
    )


def emd_vs_occupancy(emds: dict[str, np.ndarray], occupancy: np.ndarray) -> EmdProfile:
    """Mean, median and 16-84% band of the EMD in occupancy bins (None where a bin is empty)."""
    edges = np.array(OCCUPANCY_EDGES)
    which = np.digitize(occupancy, edges) - 1
    keys = ("mean", "median", "p16", "p84")
    points: dict[str, dict[str, list[float | None]]] = {key: {} for key in keys}
    for name, values in emds.items():
        for key in keys:
            points[key][name] = []
        for b in range(len(edges) - 1):
            sel = values[which == b]
            found = [sel.mean(), *np.percentile(sel, [50, 16, 84])] if sel.size else [None] * 4
            for key, p in zip(keys, found, strict=True):
                points[key][name].append(None if p is None else round(float(p), 5))
    return EmdProfile(
        centres=(0.5 * (edges[:-1] + edges[1:] - 1)).tolist(),
        counts=np.bincount(which[which >= 0], minlength=len(edges) - 1)[: len(edges) - 1].tolist(),
        **points,
    )
