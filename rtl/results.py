"""The RTL stage's figures (``<build>/rtl/metrics.json``)."""

from __future__ import annotations

from typing import ClassVar

from econflow.results import Result, StageMetrics, StepResult
from econflow.rtl.artefacts import STAGE, TmrScope, WeightMode


class RegisterBits(Result):
    protected_bits: int  # held in three copies
    total_bits: int  # every register bit, each protected one counted once
    config_bits: int  # weights and biases
    flip_flops: int  # total_bits + 2 x protected_bits


class Lint(Result):
    tool: str
    warnings: int


class RtlResult(StepResult):
    latency_cycles: int
    pipeline_depth: int  # pipeline stages besides the output register
    registered: list[str] = []  # the pipeline points holding a register, the outputs last
    scrub_interval: int = 1  # cycles between clock ticks of gated configuration registers
    weights: WeightMode
    tmr: TmrScope
    parameters: int  # weights and biases
    registers: RegisterBits
    lint: Lint


class RtlMetrics(StageMetrics):
    STAGE: ClassVar[str] = STAGE

    rtl: RtlResult | None = None
