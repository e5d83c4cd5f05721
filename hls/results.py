"""The HLS stage's figures (``<build>/hls/metrics.json``)."""

from __future__ import annotations

from typing import ClassVar

from econflow.models.results import Comparison
from econflow.results import StageMetrics, StepResult


class BackendCsim(Comparison):
    """One backend's C simulation against the fixed-point model, and the time (s) to write,
    compile and run its project."""

    seconds: float


class CsimResult(StepResult):
    samples: int
    mismatches: int  # over every backend
    backends: dict[str, BackendCsim]


class HlsMetrics(StageMetrics):
    STAGE: ClassVar[str] = "hls"

    csim: CsimResult | None = None
