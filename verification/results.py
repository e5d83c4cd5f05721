"""The verification stage's figures (``<build>/verify/metrics.json`` and ``results.json``)."""

from __future__ import annotations

from typing import ClassVar

from econflow.results import Result, StageMetrics, StepResult


class BulkCounts(Result):
    """What the bulk testbench counts itself (one vector per clock cycle)."""

    vectors: int
    received: int  # valid outputs seen
    mismatches: int  # outputs that differ from the fixed-point model
    first_mismatch: int  # vector index, -1 for none
    readback_errors: int  # registers that read back another value than written
    unmapped_errors: int  # a write outside the map changed a read-back
    early_outputs: int  # valid outputs before any input
    tmr_error_count: int  # the design's own TMR disagreement counter at the end

    @property
    def exact(self) -> bool:
        """Every vector came out, equal to the model, and every register read back."""
        return not (self.mismatches or self.readback_errors) and self.received == self.vectors


class BulkRun(BulkCounts):
    seconds: float  # building and simulating
    vectors_per_s: float


class StreamTest(Result):
    vectors: int
    received: int
    mismatches: int
    first_mismatch: str | None = None  # the first differing output, with its charges
    readback_errors: int
    seconds: float
    vectors_per_s: float


class ReloadTest(Result):
    vectors: int
    mismatches_a: int  # model A before the reload
    mismatches_b: int  # model B after it
    readback_errors: int
    consecutive_write_errors: int  # one register written on consecutive edges, read after each


class ResetTest(Result):
    idle_outputs: int  # valid outputs while no input came
    sent_with_gaps: int
    received_with_gaps: int
    mismatches: int
    stale_after_reset: int
    readback_errors: int


class WritesTest(Result):
    """Configuration writes while vectors stream: every output against the weights in force
    when its vector was sampled; the inferences in flight at a write give none."""

    vectors: int
    writes: int
    received: int
    dropped: int  # in flight at a write: no output, as the register map says
    mismatches: int
    first_mismatch: str | None = None


class CocotbRun(Result):
    """The cocotb tests that ran on one simulator."""

    stream: StreamTest | None = None
    reload: ReloadTest | None = None
    reset: ResetTest | None = None
    writes: WritesTest | None = None


class SeuKind(Result):
    injections: int
    corrupted: int


class SeuCampaign(Result):
    """Upsets injected while vectors stream: how many reached an output (``corrupted``),
    raised ``tmr_error`` (``flagged``), and how long a protected copy stayed wrong before
    its own clock (every cycle, or the scrub tick when gated) rewrote it."""

    injections: int
    masked: int
    corrupted: int
    flagged: int
    protected_injections: int  # upsets in a triplicated register
    corrected: int  # of those, the copies agreed again by themselves (clock edge or scrub)
    correction_cycles_max: int  # cycles an upset stayed in its copy: the window in which a
    correction_cycles_mean: float  # second upset of the same bit would defeat the voter
    counted_once: int  # protected upsets tmr_error_count counted exactly once
    by_kind: dict[str, SeuKind]


class SeuScope(SeuCampaign):
    """Single upsets on RTL generated with one TMR scope, and double upsets (two copies of
    one bit) where the scope protects anything."""

    double: SeuCampaign | None = None


class VerifyResult(StepResult):
    top: str
    tmr: str
    bulk: dict[str, BulkRun]  # per simulator
    cocotb: dict[str, CocotbRun]  # per simulator
    seu: dict[str, SeuScope] = {}  # per TMR scope


class VerifyMetrics(StageMetrics):
    STAGE: ClassVar[str] = "verify"

    verify: VerifyResult | None = None
