"""The ``hls`` flow step: hls4ml projects per backend and their bit-exact C simulation."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from econflow.config import Config
from econflow.errors import EconflowError
from econflow.hls import csim, project
from econflow.hls.results import BackendCsim, CsimResult, HlsMetrics
from econflow.models import artefacts, dataset
from econflow.stage import Step

STAGE = HlsMetrics.STAGE
PROJECT_FILES = ("build_prj.tcl", "firmware/econt_encoder.cpp")


def _run(cfg: Config, build: Path) -> CsimResult:
    h = cfg.design.hls
    models = artefacts.load(build)
    model = models.load_quantized()
    encoder = models.load_encoder()
    _, holdout = models.load_dataset()
    charges = np.concatenate([holdout[: h.csim_samples], dataset.corner_cases(model.charge_bits)])
    results = {}
    for backend in h.backends:
        start = time.monotonic()
        print(f"  {backend}: writing and compiling the hls4ml project")
        hls_model = project.build(
            encoder, model, backend, build / STAGE / backend, h.clock_period_ns, h.vitis_part
        )
        results[backend] = BackendCsim(
            **csim.compare(hls_model, model, charges).model_dump(),
            seconds=round(time.monotonic() - start, 2),
        )
        print(
            f"  {backend}: C simulation, {results[backend].mismatches} mismatches "
            f"in {len(charges)} samples"
        )
    mismatches = sum(r.mismatches for r in results.values())
    summary = CsimResult(samples=int(len(charges)), mismatches=mismatches, backends=results)
    if mismatches:
        HlsMetrics.record(build, "csim", summary)
        bad = ", ".join(f"{b}: {r.mismatches}" for b, r in results.items() if r.mismatches)
        raise EconflowError(
            f"{build / STAGE}: hls4ml C simulation differs from the fixed-point model ({bad} "
            f"of {len(charges)} samples)"
        )
    return summary


def _outputs(cfg: Config, build: Path) -> list[Path]:
    return [
        build / STAGE / backend / name
        for backend in cfg.design.hls.backends
        for name in PROJECT_FILES
    ]


def _inputs(_cfg: Config, build: Path) -> list[Path]:
    models = artefacts.at(build)
    return [models.quantized, models.autoencoder, models.dataset]


STEPS: tuple[Step, ...] = (
    Step("hls", HlsMetrics, "csim", ("hls", "data"), _inputs, _outputs, _run),
)
