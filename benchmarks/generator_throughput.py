"""Synthetic generator throughput (goal: a million modules in under a minute).

Run: ./bootstrap.sh python benchmarks/generator_throughput.py
"""

from __future__ import annotations

import time

from _common import write

from econflow.config import DataSection
from econflow.models import dataset


def main() -> None:
    n = 1_000_000
    start = time.perf_counter()
    charges = dataset.generate(n, DataSection())
    seconds = time.perf_counter() - start
    occ = dataset.occupancy(charges)
    write(
        "generator_throughput",
        {
            "modules": n,
            "seconds": round(seconds, 2),
            "modules_per_s": round(n / seconds),
            "occupancy_mean": float(occ.mean()),
            "empty_fraction": float((occ == 0).mean()),
        },
    )


if __name__ == "__main__":
    main()
