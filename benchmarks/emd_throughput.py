"""Exact EMD pairs per second: plain POT on one core, econflow on one and on all cores.

Goal: >= 8.5k pairs/s on 2 cores. Run: ./bootstrap.sh python benchmarks/emd_throughput.py
"""

from __future__ import annotations

import time

import numpy as np
import ot
from _common import write

from econflow.config import DataSection
from econflow.models import dataset, emd, geometry


def rate(n: int, work) -> float:
    start = time.perf_counter()
    work()
    return n / (time.perf_counter() - start)


def main() -> None:
    charges = dataset.generate(400_000, DataSection(), seed=11)
    charges = charges[charges.sum(axis=1) > 0]
    a, b = charges[:100_000], charges[100_000:200_000]
    cost = geometry.tc_distances()
    sub_a, sub_b = a[:5000].astype(float), b[:5000].astype(float)

    def plain_pot() -> None:
        for x, y in zip(sub_a, sub_b, strict=True):
            ot.emd2(x / x.sum(), y / y.sum(), cost)

    emd.emd_batch(a[:20_000], b[:20_000])  # start the worker server once, as a flow run would
    figures = {
        "pairs": len(a),
        "pot_full_matrix_1core_pairs_per_s": round(rate(len(sub_a), plain_pot)),
        "econflow_1core_pairs_per_s": round(
            rate(len(sub_a), lambda: emd.emd_batch(sub_a, sub_b, workers=1))
        ),
        "econflow_all_cores_pairs_per_s": round(rate(len(a), lambda: emd.emd_batch(a, b))),
        "goal_pairs_per_s": 8500,
    }
    figures["mean_emd"] = float(np.mean(emd.emd_batch(a[:5000], b[:5000], workers=1)))
    write("emd_throughput", figures)


if __name__ == "__main__":
    main()
