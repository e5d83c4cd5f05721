"""Where the pipeline registers go: a delay model of the logic between the encoder's pipeline
points, counted in gate levels, and the choice of points that balances it.

The model follows how Yosys and ABC build the arithmetic: products and the levels of an
adder tree that stay in one stage are merged into one carry-save tree, whose cost is a few
gate levels per level; a carry-propagate (ripple) adder of the width reached costs two gate
levels per bit and is paid where a binary value is needed, at a pipeline register or a
re-quantization. :class:`~econflow.rtl.timing.CellDelays` turns levels into nanoseconds at
the timing corner. The model ranks places to cut; the synth and sta steps measure the result.

The normalizer's shift amount drives every bit of every charge's shifter: ABC buffers such
a net in chains, a buffer level per factor four of fanout (the default design's normalized
inputs missed 40 MHz by 0.39 ns at the slow corner, through four buffers, before the model
counted them).

``pipeline_depth`` registers that many points besides the outputs: the fewest flip-flops
whose stages meet the clock, or, when none do, the slowest stage as fast as possible and
then the fewest flip-flops. ``auto`` takes the smallest depth whose slowest stage meets the
clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from econflow.errors import EconflowError
from econflow.rtl.structure import Encoder, Point
from econflow.rtl.timing import CellDelays

CSA_LEVEL = 4  # a level of an adder tree kept in carry-save form
CARRY_PER_BIT = 2  # a ripple-carry adder, per bit of its width
COMPARE = 6  # rounding decision and saturation of a re-quantization
BUFFER_LEVEL = 5  # a buffer of a high-fanout net, per factor four of its fanout


class PipelineError(EconflowError):
    """The pipeline asked for cannot be built (the caller names the design file's key)."""


@dataclass(frozen=True)
class Budget:
    """What a stage may spend (ns): the clock period less its uncertainty, the external
    input delay before the first stage, the corner's cell delays, and how much slower a
    mapped gate level is than the characterised gate (the PDK config's ``gate_derate``)."""

    period_ns: float
    input_ns: float
    delays: CellDelays
    derate: float = 1.0


def _transition(enc: Encoder, point: Point) -> tuple[float, int | None]:
    """Gate levels of the logic computing ``point`` from the point before, and the width of
    the value it leaves in carry-save form (None when it leaves a binary value)."""
    if point.kind == "input":
        return 0.0, None
    if point.kind == "norm_sum":  # one many-operand sum: 3:2 compressors, a third per level
        levels = math.ceil(math.log(max(len(enc.tc_pixels) / 2, 1)) / math.log(1.5))
        return CSA_LEVEL * levels + CARRY_PER_BIT * enc.sum_width, None
    if point.kind == "norm_log2":
        return 3 * math.ceil(math.log2(max(enc.sum_width, 2))) + 4, None
    if point.kind == "norm":
        shift = 3 * enc.shift_width + _buffers(len(enc.tc_pixels) * enc.charge_bits)
        return (shift if enc.sum_width else 0) + CARRY_PER_BIT * enc.input_width + COMPARE, None
    layer = enc.layer(point.layer or "")
    if point.kind in ("products", "level"):
        widest = max(node.width for node in layer.levels[point.level or 0])
        if point.kind == "products":
            weight_bits = max(p.width for p in enc.parameters if p.layer == layer.name)
            return CSA_LEVEL * math.ceil(math.log2(max(weight_bits, 2))), widest
        return float(CSA_LEVEL), widest
    return CARRY_PER_BIT * layer.out_width + COMPARE, None  # requant, out


def _buffers(fanout: int) -> float:
    """Gate levels of the buffer chains that drive ``fanout`` loads."""
    return BUFFER_LEVEL * math.ceil(math.log(max(fanout, 1), 4))


def stage_levels(enc: Encoder, start: int, end: int) -> float:
    """Gate levels from the register at point ``start`` (0: the input ports) to the register
    at point ``end`` (indices into ``enc.points``, 1-based)."""
    levels, pending = 0.0, None
    for point in enc.points[start:end]:
        cost, leaves = _transition(enc, point)
        if point.kind in ("requant", "out") and pending is not None:
            levels += CARRY_PER_BIT * pending  # the binary value re-quantization needs
        levels += cost
        pending = leaves
    if pending is not None:
        levels += CARRY_PER_BIT * pending
    return levels


def stage_ns(enc: Encoder, start: int, end: int, budget: Budget) -> float:
    """A stage's delay (ns): its logic, plus the register's clock-to-output and setup, or the
    external input delay and setup for the first stage."""
    d = budget.delays
    launch = budget.input_ns if start == 0 else d.clock_to_q_ns
    return launch + stage_levels(enc, start, end) * d.gate_ns * budget.derate + d.setup_ns


def place(enc: Encoder, depth: int, budget: Budget | None) -> Encoder:
    """``enc`` with ``depth`` points registered besides the outputs: with a budget, the
    fewest flip-flops whose every stage meets the clock; when none does, or without a
    budget, the stages balanced (in nanoseconds, else in gate levels). Balancing alone
    would spend flip-flops on stages faster than the clock needs (a wide tree level).

    Raises:
        PipelineError: more stages asked for than the datapath has points.
    """
    candidates = len(enc.points) - 1  # every point but the outputs
    if depth > candidates:
        raise PipelineError(
            f"{depth} stages asked for; this encoder has {candidates} places for a register"
        )
    costs = _costs(enc, budget)
    meeting = _best(enc, depth, costs, limit=budget.period_ns) if budget else None
    chosen = meeting or _best(enc, depth, costs) or set()
    return register(enc, {p.name for p in enc.points if p.index in chosen})


def register(enc: Encoder, names: set[str]) -> Encoder:
    """``enc`` with the named points registered, and the outputs.

    Raises:
        PipelineError: a name that is no point of this encoder.
    """
    unknown = names - {p.name for p in enc.points}
    if unknown:
        raise PipelineError(f"no pipeline point {sorted(unknown)[0]!r} in this encoder")
    points = tuple(replace(p, registered=p.name in names or p.kind == "out") for p in enc.points)
    return replace(enc, points=points)


def _costs(enc: Encoder, budget: Budget | None) -> dict[tuple[int, int], float]:
    """Every stage's delay, from the register at point ``i`` (0: the ports) to point ``j``:
    ns with a budget, else gate levels."""
    last = len(enc.points)
    return {
        (i, j): stage_ns(enc, i, j, budget) if budget else stage_levels(enc, i, j)
        for i in range(last)
        for j in range(i + 1, last + 1)
    }


def _best(
    enc: Encoder, depth: int, costs: dict[tuple[int, int], float], limit: float | None = None
) -> set[int] | None:
    """The registered points (1-based indices) that minimize (slowest stage, flip-flops): the
    fastest slowest stage, then the fewest flip-flops keeping it; or with a ``limit`` on every
    stage, the fewest flip-flops (None when nothing keeps it). Each part is exact by dynamic
    programming over the last registered point, as a maximum and a sum both compose."""
    if limit is None:
        limit = _fastest(enc, depth, costs)
    last = len(enc.points)
    bits = {p.index: p.bits for p in enc.points}
    # reach[j]: (flip-flops, chosen), the fewest with the last register so far at j.
    reach: dict[int, tuple[int, tuple[int, ...]]] = {0: (0, ())}
    for _ in range(depth):
        step = {}
        for j in range(1, last):
            options = [
                (flops + bits[j], (*chosen, j))
                for i, (flops, chosen) in reach.items()
                if i < j and costs[i, j] <= limit
            ]
            if options:
                step[j] = min(options)
        reach = step
    finals = [(flops, chosen) for i, (flops, chosen) in reach.items() if costs[i, last] <= limit]
    return set(min(finals)[1]) if finals else None


def _fastest(enc: Encoder, depth: int, costs: dict[tuple[int, int], float]) -> float:
    """The slowest stage of the fastest choice of ``depth`` points."""
    last = len(enc.points)
    reach = {0: 0.0}  # the fastest slowest stage so far, the last register at j
    for _ in range(depth):
        reach = {
            j: min(max(worst, costs[i, j]) for i, worst in reach.items() if i < j)
            for j in range(1, last)
            if any(i < j for i in reach)
        }
    return min(max(worst, costs[i, last]) for i, worst in reach.items())


def slowest_stage(enc: Encoder, budget: Budget) -> tuple[float, str]:
    """The slowest stage of ``enc`` as pipelined (ns), and the point it ends at."""
    ends = [p.index for p in enc.points if p.registered]
    starts = [0, *ends[:-1]]
    return max(
        (stage_ns(enc, s, e, budget), enc.points[e - 1].name)
        for s, e in zip(starts, ends, strict=True)
    )


def auto_depth(enc: Encoder, budget: Budget) -> Encoder:
    """The shallowest pipeline whose every stage meets the clock, with the fewest
    flip-flops among those of that depth.

    Raises:
        PipelineError: no depth meets it (naming the best clock and the depths tried).
    """
    candidates = len(enc.points) - 1
    costs = _costs(enc, budget)
    for depth in range(candidates + 1):
        chosen = _best(enc, depth, costs, limit=budget.period_ns)
        if chosen is not None:
            return register(enc, {p.name for p in enc.points if p.index in chosen})
    fastest, depth = min(
        (slowest_stage(place(enc, d, budget), budget)[0], d) for d in range(candidates + 1)
    )
    raise PipelineError(
        f"auto: no depth from 0 to {candidates} meets {budget.period_ns:.2f} ns at the "
        f"{budget.delays.corner} corner; the best is {1000 / fastest:.1f} MHz "
        f"({fastest:.2f} ns) at depth {depth}"
    )
