"""cocotb tests of a generated encoder, run inside Icarus or Verilator by :mod:`.cocotb_run`.

The plan (a JSON file named by ``ECONFLOW_PLAN``) gives the design description, the vectors
with their expected outputs (from the fixed-point model) and the SEU campaign's size; each
test adds its figures to the results file the plan names. Which tests run is chosen by the
runner (:mod:`.cocotb_run`). Inputs change and outputs are checked on falling
edges, half a cycle away from the rising edges where the design samples and updates.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

from econflow.rtl import naming
from econflow.rtl.artefacts import RegisterBank, RtlDescription

CLOCK_NS = 25


@dataclass
class Stimulus:
    """One model's vectors (packed charges) and expected outputs (packed latent, sums)."""

    charges: list[int]
    latent: list[int]
    sums: list[int]
    image: list[int]
    raw: np.ndarray  # int64 (N, 48), for messages


@dataclass
class Monitor:
    """Follows the vectors through the pipeline and compares each valid output with the one
    expected of the oldest vector still in flight.

    Each falling edge, :meth:`check` reads the outputs of the last rising edge, then
    :meth:`sample` names the vector applied for the next one (None when ``in_valid`` is
    low). A configuration write drops the inferences in flight (the register map's rule):
    the vectors sampled at the ``latency - 1`` rising edges up to and including the write's.
    """

    expected: Stimulus
    latency: int
    pending: deque[tuple[int, int]] = field(default_factory=deque)  # (edge, vector)
    edge: int = 0
    write_edges: set[int] = field(default_factory=set)
    received: int = 0
    dropped: int = 0
    mismatches: int = 0
    first: str | None = None

    def write(self) -> None:
        """A configuration write takes effect at the next rising edge."""
        self.write_edges.add(self.edge)

    def sample(self, vector: int | None) -> None:
        if vector is not None:
            self.pending.append((self.edge, vector % len(self.expected.latent)))
        if self.edge in self.write_edges:
            kept = deque(e for e in self.pending if e[0] < self.edge - (self.latency - 2))
            self.dropped += len(self.pending) - len(kept)
            self.pending = kept
        self.edge += 1

    def check(self, dut: Any, sums: bool) -> None:
        if int(dut.out_valid.value) != 1:
            return
        latent = int(dut.latent.value)
        if not self.pending:
            self._wrong(f"output {self.received} with no vector in flight: latent 0x{latent:x}")
            self.received += 1
            return
        _, i = self.pending.popleft()
        ok = latent == self.expected.latent[i]
        if sums:
            ok = ok and int(dut.module_sum.value) == self.expected.sums[i]
        if not ok:
            self._wrong(
                f"output {self.received} (vector {i}): latent 0x{latent:x}, expected "
                f"0x{self.expected.latent[i]:x}; charges {self.expected.raw[i].tolist()}"
            )
        self.received += 1

    def _wrong(self, message: str) -> None:
        self.mismatches += 1
        if self.first is None:
            self.first = message


class Bench:
    """The design under test with its plan: clock, reset, configuration port, streaming."""

    def __init__(self, dut: Any) -> None:
        self.dut = dut
        self.plan = json.loads(Path(os.environ["ECONFLOW_PLAN"]).read_text())
        self.design = RtlDescription.model_validate_json(Path(self.plan["design"]).read_text())
        self.ports = self.design.ports
        self.sums = bool(self.ports.sum_bits)
        self.programmable = self.design.weights == "programmable"
        data = np.load(self.plan["vectors"])
        self.models = {name: self._stimulus(data, name) for name in self.plan["models"]}
        self.rng = random.Random(self.plan["seed"])
        self.register_widths = self.plan["register_widths"]

    def _stimulus(self, data: Any, name: str) -> Stimulus:
        cb, ob = self.ports.charge_bits, self.ports.output_bits
        raw = data[f"{name}_charges"]
        return Stimulus(
            charges=[_pack(row, cb) for row in raw],
            latent=[_pack(row, ob) for row in data[f"{name}_latent"]],
            sums=[int(s) for s in data[f"{name}_sums"]],
            image=[int(w) for w in data[f"{name}_image"]],
            raw=raw,
        )

    async def start(self) -> None:
        cocotb.start_soon(Clock(self.dut.clk, CLOCK_NS, unit="ns").start())
        self.dut.in_valid.value = 0
        self.dut.charges.value = 0
        if self.programmable:
            self.dut.cfg_we.value = 0
            self.dut.cfg_addr.value = 0
            self.dut.cfg_wdata.value = 0
        await self.reset()

    async def reset(self) -> None:
        self.dut.rst_n.value = 0
        for _ in range(2):
            await FallingEdge(self.dut.clk)
        self.dut.rst_n.value = 1

    async def load(self, image: list[int]) -> int:
        """Write every register, then read each back; returns the read-back errors."""
        if not self.programmable:
            return 0
        await FallingEdge(self.dut.clk)
        for address, word in enumerate(image):
            self.dut.cfg_we.value = 1
            self.dut.cfg_addr.value = address
            self.dut.cfg_wdata.value = word
            await FallingEdge(self.dut.clk)
        self.dut.cfg_we.value = 0
        errors = 0
        for address, word in enumerate(image):  # the read data is registered
            self.dut.cfg_addr.value = address
            await FallingEdge(self.dut.clk)
            errors += int(self.dut.cfg_rdata.value) != word
        return errors

    async def rewrite(self, address: int, words: list[int]) -> int:
        """Write ``words`` to one register on consecutive clock edges, reading it back after
        each; returns the read-backs that differ from the word written. The read data,
        registered, shows after each edge the word the edge before wrote. With gated clocks
        this is where a zero-delay simulation would show a race."""
        await FallingEdge(self.dut.clk)
        errors = 0
        for i, word in enumerate(words):
            self.dut.cfg_we.value = 1
            self.dut.cfg_addr.value = address
            self.dut.cfg_wdata.value = word
            await FallingEdge(self.dut.clk)
            errors += i > 0 and int(self.dut.cfg_rdata.value) != words[i - 1]
        self.dut.cfg_we.value = 0
        await FallingEdge(self.dut.clk)
        errors += int(self.dut.cfg_rdata.value) != words[-1]
        return errors

    async def stream(
        self,
        stim: Stimulus,
        count: int,
        hook: Callable[[int, Monitor], Awaitable[None]] | None = None,
    ) -> Monitor:
        """Drive ``count`` vectors (cycling through ``stim``) one per clock, then drain."""
        monitor = self.monitor(stim)
        await FallingEdge(self.dut.clk)
        for cycle in range(count + self.design.latency_cycles + 1):
            if hook is not None:
                await hook(cycle, monitor)
            monitor.check(self.dut, self.sums)
            if cycle < count:
                self.dut.in_valid.value = 1
                self.dut.charges.value = stim.charges[cycle % len(stim.charges)]
                monitor.sample(cycle)
            else:
                self.dut.in_valid.value = 0
                monitor.sample(None)
            await FallingEdge(self.dut.clk)
        return monitor

    def monitor(self, stim: Stimulus) -> Monitor:
        return Monitor(stim, self.design.latency_cycles)

    def write(self, monitor: Monitor, address: int, word: int) -> None:
        """Start a configuration write, at the next rising edge (end it with ``idle``)."""
        self.dut.cfg_we.value = 1
        self.dut.cfg_addr.value = address
        self.dut.cfg_wdata.value = word
        monitor.write()

    def idle(self) -> None:
        self.dut.cfg_we.value = 0

    def record(self, test: str, values: dict[str, Any]) -> None:
        path = Path(self.plan["results"])
        results = json.loads(path.read_text()) if path.is_file() else {}
        results[test] = values
        path.write_text(json.dumps(results, indent=1) + "\n")


def _pack(values: Any, width: int) -> int:
    word = 0
    for k, v in enumerate(values):
        word |= int(v) << (width * k)
    return word


@cocotb.test()
async def stream_matches_fixed_point(dut: Any) -> None:
    """Every vector, streamed one per clock, gives the fixed-point model's outputs."""
    bench = Bench(dut)
    await bench.start()
    stim = bench.models["a"]
    readback = await bench.load(stim.image)
    start = time.perf_counter()
    monitor = await bench.stream(stim, len(stim.charges))
    seconds = time.perf_counter() - start
    bench.record(
        "stream",
        {
            "vectors": len(stim.charges),
            "received": monitor.received,
            "mismatches": monitor.mismatches,
            "first_mismatch": monitor.first,
            "readback_errors": readback,
            "seconds": round(seconds, 3),
            "vectors_per_s": round(len(stim.charges) / seconds, 1),
        },
    )
    assert readback == 0, f"{readback} registers read back wrong"
    assert monitor.received == len(stim.charges), f"{monitor.received} outputs"
    assert monitor.mismatches == 0, f"{monitor.mismatches} mismatches; first: {monitor.first}"


@cocotb.test()
async def reload_gives_the_second_model(dut: Any) -> None:
    """Model B's image loaded after model A's run gives B's outputs, and reads back as B's."""
    bench = Bench(dut)
    await bench.start()
    a, b = bench.models["a"], bench.models["b"]
    readback_a = await bench.load(a.image)
    run_a = await bench.stream(a, min(len(a.charges), 200))
    last = len(b.image) - 1
    rewrites = 0
    for address in (0, last):  # every value a register can take, on consecutive edges
        width = bench.register_widths[address]
        rewrites += await bench.rewrite(address, [*range(1 << width), 0])
    readback_b = await bench.load(b.image)
    run_b = await bench.stream(b, len(b.charges))
    bench.record(
        "reload",
        {
            "vectors": len(b.charges),
            "mismatches_a": run_a.mismatches,
            "mismatches_b": run_b.mismatches,
            "readback_errors": readback_a + readback_b,
            "consecutive_write_errors": rewrites,
        },
    )
    assert readback_a == readback_b == rewrites == 0
    assert run_a.mismatches == 0, run_a.first
    assert run_b.mismatches == 0, run_b.first


@cocotb.test()
async def outputs_only_when_valid_and_none_stale_after_reset(dut: Any) -> None:
    """No output without an input; gaps in in_valid keep order; reset leaves no stale data."""
    bench = Bench(dut)
    await bench.start()
    stim = bench.models["a"]
    await bench.load(stim.image)
    monitor = bench.monitor(stim)
    idle_outputs = 0
    sent = 0
    for cycle in range(300):
        await FallingEdge(dut.clk)
        monitor.check(dut, bench.sums)
        if cycle < 20:  # idle after reset: nothing may come out
            idle_outputs += int(dut.out_valid.value)
            monitor.sample(None)
            continue
        valid = bench.rng.random() < 0.5
        dut.in_valid.value = int(valid)
        dut.charges.value = stim.charges[sent % len(stim.charges)] if valid else 0
        monitor.sample(sent if valid else None)
        sent += valid
    dut.in_valid.value = 0  # drain: every vector sent comes out, however deep the pipeline
    for _ in range(bench.design.latency_cycles + 1):
        await FallingEdge(dut.clk)
        monitor.check(dut, bench.sums)
        monitor.sample(None)
    drained = monitor.received
    for k in range(bench.design.latency_cycles):  # fill the pipeline again
        dut.in_valid.value = 1
        dut.charges.value = stim.charges[k % len(stim.charges)]
        await FallingEdge(dut.clk)
    dut.in_valid.value = 1  # reset while data is in flight
    dut.charges.value = stim.charges[0]
    dut.rst_n.value = 0
    await FallingEdge(dut.clk)
    stale = int(dut.out_valid.value) + (int(dut.latent.value) != 0)
    await FallingEdge(dut.clk)
    dut.in_valid.value = 0
    dut.rst_n.value = 1
    for _ in range(bench.design.latency_cycles + 3):
        await FallingEdge(dut.clk)
        stale += int(dut.out_valid.value)
    readback = await bench.load(stim.image)  # reset clears the weights: reload
    after = await bench.stream(stim, 50)
    bench.record(
        "reset",
        {
            "idle_outputs": idle_outputs,
            "sent_with_gaps": sent,
            "received_with_gaps": drained,
            "mismatches": monitor.mismatches + after.mismatches,
            "stale_after_reset": stale,
            "readback_errors": readback,
        },
    )
    assert idle_outputs == 0, "out_valid rose with no input"
    assert drained == sent, "outputs lost or invented with gaps in in_valid"
    assert monitor.mismatches == 0, monitor.first
    assert stale == 0, "out_valid or latent not cleared by reset"
    assert after.mismatches == 0 and after.received == 50, after.first


@cocotb.test()
async def weight_writes_while_streaming(dut: Any) -> None:
    """Registers rewritten while vectors stream, some writes apart, some back to back: each
    output is the fixed-point model's with the weights in force when its vector was sampled,
    and the inferences in flight at a write give no output."""
    bench = Bench(dut)
    await bench.start()
    stim = bench.models["w"]
    await bench.load(stim.image)
    writes = {cycle: (address, word) for cycle, address, word in bench.plan["writes"]}

    async def hook(cycle: int, monitor: Monitor) -> None:
        if cycle in writes:
            bench.write(monitor, *writes[cycle])
        elif cycle - 1 in writes:
            bench.idle()

    monitor = await bench.stream(stim, len(stim.charges), hook)
    bench.record(
        "writes",
        {
            "vectors": len(stim.charges),
            "writes": len(writes),
            "received": monitor.received,
            "dropped": monitor.dropped,
            "mismatches": monitor.mismatches,
            "first_mismatch": monitor.first,
        },
    )
    assert monitor.mismatches == 0, f"{monitor.mismatches} mismatches; first: {monitor.first}"
    assert monitor.received + monitor.dropped == len(stim.charges)
    assert not monitor.pending, "vectors still in flight after the drain"


@dataclass
class Upset:
    """One planned injection: register bank, bit, copies to flip, cycle within its period."""

    register: RegisterBank
    bit: int
    copies: tuple[str, ...]
    offset: int
    before: int = 0
    count_before: int = 0
    flagged: bool = False
    corrected_after: int | None = None  # cycles until the copies agreed again


def _copies(bench: Bench, reg: RegisterBank) -> dict[str, Any]:
    """The simulator handles of a register's copies (its value alone when unprotected)."""
    bank = bench.dut
    for level in reg.instance.split("/"):
        bank = getattr(bank, level)
    names = naming.COPIES if reg.protected else (naming.VALUE,)
    return {name: getattr(bank, name) for name in names}


def _targets(bench: Bench) -> list[RegisterBank]:
    """Protected registers under TMR; without TMR, every configuration and pipeline register."""
    registers = bench.design.registers
    if bench.design.tmr != "none":
        return [r for r in registers if r.protected]
    return [r for r in registers if r.kind in ("config", "pipeline")]


def _plan_upsets(bench: Bench, n: int, double: bool) -> list[Upset]:
    targets = _targets(bench)
    weights = [r.width for r in targets]
    upsets = []
    for _ in range(n):
        reg = bench.rng.choices(targets, weights)[0]
        bit = bench.rng.randrange(reg.width)
        if not reg.protected:
            copies: tuple[str, ...] = (naming.VALUE,)
        elif double:
            copies = tuple(bench.rng.sample(naming.COPIES, 2))
        else:
            copies = (bench.rng.choice(naming.COPIES),)
        upsets.append(Upset(reg, bit, copies, bench.rng.randrange(3)))
    return upsets


async def _campaign(bench: Bench, upsets: list[Upset], double: bool) -> dict[str, Any]:
    """Stream vectors and inject one upset per period. Protected copies must agree again by
    themselves, at their next clock edge (within a scrub interval when gated); slow control
    rewrites what TMR cannot repair: an unprotected configuration register, or one whose
    voter two upsets defeated."""
    dut = bench.dut
    stim = bench.models["a"]
    latency = bench.design.latency_cycles
    scrub = bench.design.scrub_interval
    restore_phase = latency + scrub + 6
    period = max(2 * latency + 12, restore_phase + latency + 6)
    addresses = {name: i for i, name in enumerate(bench.plan["register_names"])}
    outcomes: list[dict[str, Any]] = []

    def close(upset: Upset, monitor: Monitor) -> None:
        count = int(dut.tmr_error_count.value)
        outcomes.append(
            {
                "register": upset.register.name,
                "kind": upset.register.kind,
                "protected": upset.register.protected,
                "corrupted": monitor.mismatches > upset.before,
                "flagged": upset.flagged or count > upset.count_before,
                "counted_once": count - upset.count_before == 1,
                "corrected_after": upset.corrected_after,
            }
        )
        if len(outcomes) % 1000 == 0 or len(outcomes) == len(upsets):
            corrupted = sum(o["corrupted"] for o in outcomes)
            dut._log.info(f"{len(outcomes)} / {len(upsets)} upsets, {corrupted} corrupted")

    async def hook(cycle: int, monitor: Monitor) -> None:
        """Runs at each falling edge before the outputs are checked."""
        k, phase = divmod(cycle, period)
        if k > len(upsets):
            return
        if phase == 0 and k > 0:
            close(upsets[k - 1], monitor)
        if k == len(upsets):
            return
        upset = upsets[k]
        if phase == upset.offset:
            upset.before = monitor.mismatches
            upset.count_before = int(dut.tmr_error_count.value)
            for name, handle in _copies(bench, upset.register).items():
                if name in upset.copies:
                    handle.value = int(handle.value) ^ (1 << upset.bit)
            # Let the flip reach the outputs before this cycle's check: an output register
            # hit here is overwritten at the next rising edge, where a consumer samples it.
            await Timer(1, unit="ns")
        elif phase > upset.offset and int(dut.tmr_error.value):
            upset.flagged = True
        if upset.register.protected and upset.corrected_after is None and phase > upset.offset:
            values = {int(h.value) for h in _copies(bench, upset.register).values()}
            if len(values) == 1:
                upset.corrected_after = phase - upset.offset
        repair = not upset.register.protected or double
        if repair and upset.register.kind == "config" and bench.programmable:
            address = addresses[upset.register.name]
            if phase == restore_phase:  # slow control rewrites the register
                bench.write(monitor, address, stim.image[address])
            elif phase == restore_phase + 1:
                bench.idle()

    await bench.stream(stim, period * len(upsets) + 1, hook)
    return _summary(outcomes)


def _summary(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(outcomes)
    corrupted = sum(o["corrupted"] for o in outcomes)
    protected = [o for o in outcomes if o["protected"]]
    cycles = [o["corrected_after"] for o in protected if o["corrected_after"] is not None]
    return {
        "injections": n,
        "masked": n - corrupted,
        "corrupted": corrupted,
        "flagged": sum(o["flagged"] for o in outcomes),
        "counted_once": sum(o["counted_once"] for o in protected),
        "corrected": len(cycles),
        "protected_injections": len(protected),
        "correction_cycles_max": max(cycles, default=0),
        "correction_cycles_mean": round(sum(cycles) / len(cycles), 3) if cycles else 0.0,
        "by_kind": {
            kind: {
                "injections": sum(o["kind"] == kind for o in outcomes),
                "corrupted": sum(o["kind"] == kind and o["corrupted"] for o in outcomes),
            }
            for kind in sorted({o["kind"] for o in outcomes})
        },
    }


@cocotb.test()
async def single_event_upsets(dut: Any) -> None:
    """Single upsets in random register copies while vectors stream; then double upsets."""
    bench = Bench(dut)
    await bench.start()
    await bench.load(bench.models["a"].image)
    seu = bench.plan["seu"]
    single = await _campaign(
        bench, _plan_upsets(bench, seu["injections"], double=False), double=False
    )
    double = None
    if seu["double"] and bench.design.tmr != "none":
        double = await _campaign(
            bench, _plan_upsets(bench, seu["double"], double=True), double=True
        )
    bench.record("seu", {**single, "double": double})
    if bench.design.tmr == "none":
        assert single["corrupted"] > 0, "no injection changed an output: the injector is broken"
    else:
        assert single["corrupted"] == 0, f"{single['corrupted']} upsets reached the outputs"
        assert single["flagged"] == single["injections"], "an upset did not raise tmr_error"
        assert single["corrected"] == single["protected_injections"], "copies left disagreeing"
        assert single["correction_cycles_max"] <= bench.design.scrub_interval
        assert single["counted_once"] == single["protected_injections"], "an upset miscounted"
