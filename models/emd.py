"""Exact Earth Mover's Distance between module charge maps on the hexagonal TC geometry.

Distances are in small-cell units (1.2084 cm); both maps are normalized to unit sum, as the
field does (ECON-T). An empty map has no distribution, so the EMD is defined by convention:
0 between two empty maps, and the module's largest TC-to-TC distance (the worst transport
possible) between an empty and a non-empty map.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator

import numpy as np
from tqdm import tqdm

# Exact EMD runs on NumPy arrays only; POT's TensorFlow/JAX/PyTorch back ends would only slow
# the import in every worker process.
for _backend in ("TENSORFLOW", "JAX", "PYTORCH", "CUPY"):
    os.environ.setdefault(f"POT_BACKEND_DISABLE_{_backend}", "1")
import ot  # noqa: E402

from econflow.models.geometry import tc_distances  # noqa: E402

_MIN_PARALLEL = 10_000


def empty_penalty() -> float:
    """EMD between an empty and a non-empty map: the largest TC-to-TC distance."""
    return float(tc_distances().max())


def emd(a: np.ndarray, b: np.ndarray) -> float:
    """Exact EMD between two (48,) non-negative maps, in small-cell units."""
    return _emd_one(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))


def _emd_one(a: np.ndarray, b: np.ndarray) -> float:
    sa, sb = a.sum(), b.sum()
    if sa <= 0 or sb <= 0:
        return 0.0 if sa <= 0 and sb <= 0 else empty_penalty()
    ia, ib = np.flatnonzero(a), np.flatnonzero(b)
    cost = tc_distances()[np.ix_(ia, ib)]
    # Only the non-zero cells take part: the transport problem shrinks, the value does not.
    return float(ot.emd2(a[ia] / sa, b[ib] / sb, cost, check_marginals=False))


def emd_and_gradient(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact EMD of each row pair of (N, 48) maps and its gradient with respect to ``b``.

    The gradient is what makes the exact EMD a training loss: the transport problem's dual
    potential on ``b``'s cells (the price of delivering mass there), taken through the
    normalization of ``b`` to unit sum. Rows whose ``b`` is empty score the empty-map EMD with
    no gradient. float32 in and out, as Keras passes them.
    """
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    values = np.zeros(len(a64), dtype=np.float32)
    grads = np.zeros(b64.shape, dtype=np.float32)
    distances = tc_distances()
    for row, (x, y) in enumerate(zip(a64, b64, strict=True)):
        sx, sy = x.sum(), y.sum()
        if sx <= 0 or sy <= 0:
            values[row] = _emd_one(x, y)
            continue
        cells = np.flatnonzero(x)
        shares = y / sy
        value, log = ot.emd2(
            x[cells] / sx, shares, distances[cells], log=True, check_marginals=False
        )
        potential = log["v"]
        values[row] = value
        grads[row] = (potential - potential @ shares) / sy
    return values, grads


def _emd_rows(pair: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    a, b = pair
    return np.fromiter((_emd_one(x, y) for x, y in zip(a, b, strict=True)), float, len(a))


def emd_batch(
    a: np.ndarray, b: np.ndarray, workers: int | None = None, progress: str | None = None
) -> np.ndarray:
    """Exact EMD of each row pair, using every core for large batches.

    Args:
        a, b: (N, 48) non-negative maps (any numeric dtype).
        workers: processes to use; default the number of cores.
        progress: if given, a progress bar with this label is shown on stderr.

    Returns:
        float64 (N,) distances in small-cell units.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two (N, 48) arrays of one shape, got {a.shape} and {b.shape}")
    if a.size and (a.min() < 0 or b.min() < 0):
        raise ValueError("EMD needs non-negative maps")
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(a) < _MIN_PARALLEL:
        return _emd_rows((a, b))
    chunks = list(_chunks(a, b, workers * 8))
    with _context().Pool(workers) as pool:
        results = pool.imap(_emd_rows, chunks)
        if progress:
            results = tqdm(results, total=len(chunks), desc=progress, unit="chunk", leave=False)
        return np.concatenate(list(results))


def _context() -> multiprocessing.context.BaseContext:
    # A fork server forks workers from a clean process (never from one running TensorFlow's
    # threads) and, preloaded once, starts them in milliseconds.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _chunks(a: np.ndarray, b: np.ndarray, n: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for idx in np.array_split(np.arange(len(a)), n):
        yield a[idx], b[idx]
