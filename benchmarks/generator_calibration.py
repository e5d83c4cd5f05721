"""The synthetic generator against the real ECON-T inputs: its statistics beside the targets
(``econflow.models.statistics.TARGETS``), and with ``--fit`` the Nelder-Mead fit of its
pileup, shower, noise and threshold parameters that gave the defaults of
``econflow.config.GeneratorSection``.

Run: ./bootstrap.sh python benchmarks/generator_calibration.py [DESIGN.yaml] [--fit]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from _common import write
from scipy.optimize import minimize

from econflow.config import DataSection, GeneratorSection, load_config
from econflow.models import dataset, statistics
from econflow.models.results import ChargeStatistics

FITTED = (
    "pileup_hits",
    "pileup_radial_power",
    "hit_mip",
    "shower_probability",
    "noise_mip",
    "zero_suppression_mip",
    "pileup_spread",
)
FIT_MODULES = 30_000
CHECK_MODULES = 200_000


def _stats(data: DataSection, modules: int, seed: int) -> ChargeStatistics:
    return statistics.summarize(dataset.generate(modules, data, seed=seed), data.mip_adc)


def _with(data: DataSection, values: dict[str, float]) -> DataSection:
    generator = data.generator.model_copy(update=values)
    return data.model_copy(update={"generator": GeneratorSection.model_validate(
        generator.model_dump())})  # fmt: skip


def _misfit(found: ChargeStatistics) -> float:
    """Squared distances to the targets, each in units of a quarter of its tolerance."""
    total = 0.0
    for name, target in statistics.TARGETS.items():
        scale = target.absolute or target.relative * target.value
        total += ((getattr(found, name) - target.value) / (scale / 4)) ** 2
    return total


def fit(data: DataSection) -> DataSection:
    """Nelder-Mead over the logarithms of the fitted parameters, on common random numbers."""
    start = np.log([getattr(data.generator, name) for name in FITTED])

    def misfit(x: np.ndarray) -> float:
        values = dict(zip(FITTED, np.exp(x).tolist(), strict=True))
        if values["shower_probability"] > 1:
            return math.inf
        return _misfit(_stats(_with(data, values), FIT_MODULES, seed=7))

    found = minimize(misfit, start, method="Nelder-Mead", options={"maxiter": 400})
    fitted = {n: round(float(v), 3) for n, v in zip(FITTED, np.exp(found.x), strict=True)}
    print(f"fitted in {found.nfev} evaluations: {fitted}")
    return _with(data, fitted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("design", type=Path, nargs="?", default=Path("encoder.yaml"))
    parser.add_argument("--fit", action="store_true", help="fit the parameters first")
    args = parser.parse_args()
    data = load_config(args.design).design.data
    if args.fit:
        data = fit(data)
    found = _stats(data, CHECK_MODULES, seed=data.seed)
    rows = {}
    print(f"{'statistic':<22} {'generator':>10} {'target':>8}  met")
    for name, target in statistics.TARGETS.items():
        value = getattr(found, name)
        rows[name] = {"generator": value, "target": target.value, "met": target.met(value)}
        print(f"{name:<22} {value:>10.4g} {target.value:>8g}  {target.met(value)}")
    write(
        "generator_calibration",
        {
            "design": str(args.design),
            "modules": CHECK_MODULES,
            "fitted": args.fit,
            "generator": data.generator.model_dump(),
            "statistics": rows,
            "all_met": all(r["met"] for r in rows.values()),
        },
    )


if __name__ == "__main__":
    main()
