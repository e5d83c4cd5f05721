"""The bulk regression's protocol on the cycle simulator (:mod:`cyclesim`), lanes in parallel.

What :mod:`econflow.verification.bulk`'s testbench does in a simulator, one clock cycle per
step: reset, the weight image written through the configuration port and read back, a write
outside the register map, then vectors streamed one per cycle, every output compared with the
fixed-point model. All lanes get the same configuration; each lane streams its own share of
the vectors, so the two halves of the lanes measure the activity on two disjoint vector sets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from econflow.flow.cyclesim import CycleSim, unpack
from econflow.flow.formats.activity import CellActivity
from econflow.flow.gate_graph import GateGraph
from econflow.models.quantized import QuantizedModel
from econflow.rtl.artefacts import RtlDesign
from econflow.verification import bulk
from econflow.verification.results import BulkCounts

RESET_CYCLES = 3


@dataclass(frozen=True)
class GateRun:
    counts: BulkCounts
    activity: CellActivity  # over all lanes
    halves: tuple[CellActivity, CellActivity]  # over each half of the lanes
    lanes: int
    streamed: int  # vectors streamed over all lanes (each of ``counts.vectors`` at least once)
    cycles: int
    seconds: float
    sim: CycleSim  # after the run: configured, the pipeline drained


class _Bench:
    def __init__(self, sim: CycleSim, design: RtlDesign) -> None:
        self.sim, self.ports, self.words = sim, design.ports, sim.words
        self.cycles = 0
        self.early_outputs = 0

    def drive(self, count: bool = False, **values: int | np.ndarray) -> None:
        """One cycle with ports set to ``values`` (an int: on every lane; an array: (bits,
        words) words); the others hold their last value, as a testbench's registers do."""
        for port, value in values.items():
            self.sim.set(port, value)
        self.sim.settle()
        if count:
            self.sim.count()
        self.cycles += 1

    def configure(self, image: list[int], unmapped: int | None) -> tuple[int, int]:
        """Write ``image``, read it back, write outside the map: (read-back errors, unmapped
        errors), a register counting once whatever the lanes it failed on."""
        readback = unmapped_errors = 0
        for address, value in enumerate(image):
            self.step(cfg_we=1, cfg_addr=address, cfg_wdata=value)
        for address in range(len(image) + 1):  # read data comes one edge after the address
            self.drive(cfg_we=0, cfg_addr=min(address, len(image) - 1))
            if address and (self._rdata() != image[address - 1]).any():
                readback += 1
            self._edge()
        if unmapped is not None:
            ones = 2**self.ports.data_bits - 1
            self.step(cfg_we=1, cfg_addr=unmapped, cfg_wdata=ones)
            self.step(cfg_we=0)
            self.drive()
            unmapped_errors = int((self._rdata() != 0).any())
            self._edge()
        return readback, unmapped_errors

    def _rdata(self) -> np.ndarray:
        return unpack(self.sim.read("cfg_rdata"))

    def _edge(self) -> None:
        valid = self.sim.read("out_valid")
        self.early_outputs += int(unpack(valid).sum())
        self.sim.edge()

    def step(self, **values: int) -> None:
        self.drive(**values)
        self._edge()


def run(
    graph: GateGraph,
    design: RtlDesign,
    model: QuantizedModel,
    charges: np.ndarray,
    image: list[int] | None,
    words: int = 1,
    window: int = 1,
    label: str = "gate level",
) -> GateRun:
    """Stream ``charges`` through the netlist's graph on ``64 * words`` lanes, each lane
    streaming a multiple of ``window`` vectors (the scrub interval keeps the activity's
    window on whole scrub periods), and compare every output with the fixed-point model.

    The counts are of vectors streamed (each of ``charges`` at least once, lanes wrapping
    around); ``first_mismatch`` is an index into ``charges``."""
    start = time.perf_counter()
    ports = design.ports
    sim = CycleSim(graph, words)
    bench = _Bench(sim, design)
    for _ in range(RESET_CYCLES):
        bench.step()
    bench.step(rst_n=1)
    readback = unmapped = 0
    if design.programmable:
        if image is None:
            raise ValueError(f"{design.top} has programmable weights: give a weight image")
        readback, unmapped = bench.configure(image, bulk.unmapped_address(ports, len(image)))
        print(
            f"  {label}: {len(image)} registers written and read back on {sim.lanes} lanes",
            flush=True,
        )
    per_lane = -(-len(charges) // sim.lanes)
    per_lane = -(-per_lane // window) * window
    index = np.arange(sim.lanes * per_lane).reshape(sim.lanes, per_lane) % len(charges)
    streams = charge_words(charges, index, ports.charge_bits, words)
    observed = []
    flush = design.latency_cycles + 2
    for slot in range(per_lane + flush):
        streaming = slot < per_lane
        if streaming:
            bench.drive(count=True, in_valid=1, charges=streams[slot])
        else:
            bench.drive(in_valid=0)
        observed.append(
            [sim.read(p) for p in ("out_valid", "latent", "module_sum") if p in graph.outputs]
        )
        sim.edge()
        if (slot + 1) % max(1, (per_lane + flush) // 10) == 0:
            print(f"  {label}: cycle {slot + 1}/{per_lane + flush} of the stream", flush=True)
    counts = _compare(
        observed, index, charges, design, model, readback, unmapped, bench.early_outputs
    )
    final = unpack(sim.read("tmr_error_count")) if "tmr_error_count" in graph.outputs else [0]
    counts = counts.model_copy(update={"tmr_error_count": int(np.max(final))})
    activity, halves = _activity(sim, graph)
    return GateRun(
        counts,
        activity,
        halves,
        sim.lanes,
        sim.lanes * per_lane,
        bench.cycles,
        time.perf_counter() - start,
        sim,
    )


def charge_words(charges: np.ndarray, index: np.ndarray, bits: int, words: int) -> np.ndarray:
    """(slots, n_tc * bits, words) uint64: slot s of lane j carries ``charges[index[j, s]]``."""
    per_lane = index.shape[1]
    values = np.asarray(charges, np.int64)[index.T]  # (slots, lanes, n_tc)
    planes = (values[..., None] >> np.arange(bits)) & 1  # (slots, lanes, n_tc, bits)
    planes = planes.reshape(per_lane, 64 * words, -1).transpose(0, 2, 1).astype(bool)
    return np.ascontiguousarray(np.packbits(planes, axis=2, bitorder="little")).view(np.uint64)


def _compare(
    observed: list[list[np.ndarray]],
    index: np.ndarray,
    charges: np.ndarray,
    design: RtlDesign,
    model: QuantizedModel,
    readback: int,
    unmapped: int,
    early: int,
) -> BulkCounts:
    ports = design.ports
    latent, sums = bulk.expected_outputs(model, design, charges)
    out_mask = (1 << ports.output_bits) - 1
    valid = unpack(np.stack([o[0] for o in observed]))  # (cycles, lanes)
    fields = np.stack([o[1] for o in observed])  # (cycles, latent bits, words)
    got = np.stack(
        [
            unpack(fields[:, k * ports.output_bits : (k + 1) * ports.output_bits])
            for k in range(ports.latent_size)
        ],
        axis=-1,
    )  # (cycles, lanes, latent)
    got_sum = unpack(np.stack([o[2] for o in observed])) if ports.sum_bits else None
    wrong = np.zeros(len(charges), bool)
    received = mismatches = extra = 0
    for lane in range(index.shape[0]):
        cycles = np.flatnonzero(valid[:, lane])
        extra += max(0, len(cycles) - index.shape[1])
        cycles = cycles[: index.shape[1]]
        expected_index = index[lane, : len(cycles)]
        bad = (got[cycles, lane] != (latent[expected_index] & out_mask)).any(axis=1)
        if got_sum is not None:
            bad |= got_sum[cycles, lane] != (sums[expected_index] & ((1 << ports.sum_bits) - 1))
        wrong[expected_index[bad]] = True
        mismatches += int(bad.sum())
        received += len(cycles)
    return BulkCounts(
        vectors=index.size,
        received=received,
        mismatches=mismatches,
        first_mismatch=int(np.flatnonzero(wrong)[0]) if wrong.any() else -1,
        readback_errors=readback,
        unmapped_errors=unmapped,
        early_outputs=early + extra,
        tmr_error_count=0,
    )


def _activity(sim: CycleSim, graph: GateGraph) -> tuple[CellActivity, tuple[CellActivity, ...]]:
    """Toggles per cycle of each cell's outputs (mean over them) and clock edges per cycle
    of each flip-flop, over all lanes and over each half."""
    lane_cycles = sim.counted_cycles * sim.lanes / 2
    cells = np.unique(graph.watched_cell)
    outputs_per_cell = np.bincount(graph.watched_cell, minlength=len(graph.cells))[cells]
    found = []
    for columns, share in (((0, 1), 2.0), ((0,), 1.0), ((1,), 1.0)):
        density = sim.toggles[:, columns].sum(axis=1) / (lane_cycles * share)
        per_cell = (
            np.bincount(graph.watched_cell, weights=density, minlength=len(graph.cells))[cells]
            / outputs_per_cell
        )
        edges = sim.clock_edges[:, columns].sum(axis=1) / (lane_cycles * share)
        found.append(
            CellActivity(
                dict(zip((graph.cells[k] for k in cells), per_cell.tolist(), strict=True)),
                dict(zip(graph.flops.names, edges.tolist(), strict=True)),
            )
        )
    return found[0], (found[1], found[2])
