"""Single-event upsets and transients in the synthesized netlist, on the cycle simulator.

TMR is trusted when it is shown on the netlist that goes to the foundry (the TMRG practice):
synthesis is where copies get merged and voters optimised away. Each batch restores the
state after configuration and streams the same vectors on 64 lanes; lane 0 takes no hit and
is the reference, each other lane takes one at a random cycle of the first scrub interval:

- an upset: one flip-flop's state flipped (under TMR a copy of a protected register, without
  TMR any configuration or pipeline flip-flop);
- a transient at the capturing edge: one net inverted for one cycle: a voter's output (it
  feeds the datapath and, at a scrub tick, all three copies), a voter's input (a copy's
  output), the shared write enable, a write-data bit during a write, the reset, a clock
  gate's gated clock.

A lane is corrupted when an output (valid, latent, module sum) differs from lane 0's in any
cycle of the window, flagged when ``tmr_error`` rises. After the window slow control rewrites
the configuration registers hit (all lanes: the same values), and a lane whose state still
differs from lane 0's is persisting: only a full reload repairs it.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from econflow.errors import EconflowError
from econflow.flow import tmr
from econflow.flow.cyclesim import CycleSim, unpack
from econflow.flow.formats import netlist
from econflow.flow.gate_graph import GateGraph
from econflow.flow.results import NetlistSeu, TransientCount
from econflow.rtl.artefacts import RegisterBank, RtlDesign
from econflow.verification.results import SeuCampaign, SeuKind

TRANSIENTS = (
    "voter output",
    "voter input",
    "write enable",
    "write data",
    "reset",
    "clock gate",
)
_LEAF = re.compile(r"^(?P<instance>.+)/[^/]+$")
_BANK = re.compile(r"^(?P<bank>[^\[$/]*)")
COUNTER = "tmr_error_count"  # remembers upsets by design: left out of the state compared
_OBSERVED = ("out_valid", "latent", "module_sum")


class SeuTargetError(EconflowError):
    """An upset target that names no flip-flop of the netlist."""


@dataclass(frozen=True)
class Hit:
    kind: str  # an upset: the register's kind; a transient: one of TRANSIENTS
    node: int
    cycle: int  # of the window
    register: RegisterBank | None = None  # whose flip-flop or voter
    upset: bool = True


@dataclass
class _Lanes:
    """What each lane of a batch showed."""

    corrupted: np.ndarray
    flagged: np.ndarray
    persisting: np.ndarray
    counted: np.ndarray  # tmr_error_count at the end, less lane 0's
    corrected_after: list[int | None]


class Campaign:
    """Batches of 63 hits on one netlist whose configuration is loaded in ``sim``."""

    def __init__(
        self, sim: CycleSim, gates: netlist.Netlist, design: RtlDesign, image: list[int] | None,
        stream: np.ndarray, seed: int,
    ) -> None:  # fmt: skip
        if sim.words != 1:
            raise ValueError("a campaign runs on one word: 63 hits and the reference")
        self.sim, self.gates, self.design, self.image = sim, gates, design, image or []
        self.graph: GateGraph = sim.graph
        self.stream = stream  # (slots, charge bits, 1) words, the same on every lane
        self.snapshot = self._converged(design.latency_cycles + 2)
        self.rng = np.random.default_rng(seed)
        self.scrub = max(1, design.description.scrub_interval)
        self.window = 2 * self.scrub + design.latency_cycles + 6
        self.addresses = self._addresses()
        self.registers = _flop_registers(self.graph.flops.names, design.registers)
        self.compared = np.array([r is None or r.name != COUNTER for r in self.registers])

    def _converged(self, cycles: int) -> np.ndarray:
        """The state once every lane has streamed the same vectors through the pipeline:
        the reference every lane starts each batch from."""
        self._set({"cfg_we": 0, "cfg_addr": 0, "cfg_wdata": 0, "in_valid": 1})
        for cycle in range(cycles):
            self._set({"charges": self.stream[cycle % len(self.stream)]})
            self.sim.settle()
            self.sim.edge()
        apart = _apart(self.sim.values[self.graph.flops.state, 0])
        if apart.any():
            name = self.graph.flops.names[int(np.flatnonzero(apart)[0])]
            raise ValueError(
                f"{self.design.top}: flip-flop {name} differs between lanes after "
                f"{cycles} cycles of the same vectors: no common reference state"
            )
        return self.sim.values.copy()

    def _addresses(self) -> dict[str, int]:
        regmap = self.design.register_map()
        return {r.name: r.address for r in regmap.registers} if regmap else {}

    def upset_targets(self, patterns: list[str] | None = None) -> list[int]:
        """Flip-flop indices: those whose instance names match ``patterns`` (shell-style),
        else protected copies under TMR, else configuration and pipeline flip-flops.

        Raises:
            SeuTargetError: a pattern that matches no flip-flop of the netlist.
        """
        if patterns:
            return self._named(patterns)
        tmr_on = any(r.protected for r in self.design.registers)
        found = [
            k for k, reg in enumerate(self.registers)
            if reg is not None and (reg.protected if tmr_on else reg.kind in ("config", "pipeline"))
        ]  # fmt: skip
        if not found:
            raise ValueError(f"{self.design.top}: no flip-flop of a register to upset")
        return found

    def _named(self, patterns: list[str]) -> list[int]:
        names = self.graph.flops.names
        found = []
        for pattern in patterns:
            matched = [k for k, name in enumerate(names) if fnmatch.fnmatchcase(name, pattern)]
            if not matched:
                cells = set(self.graph.cells)
                what = "a cell that is not a flip-flop" if pattern in cells else "no flip-flop"
                raise SeuTargetError(
                    f"gate_level.seu_targets: {pattern!r} names {what} of the netlist (flip-flops "
                    f"are named like {names[0]!r})"
                )
            found += matched
        return sorted(set(found))

    def upsets(
        self, n: int, progress: Callable[[str], None], patterns: list[str] | None = None
    ) -> tuple[SeuCampaign, int]:
        targets = self.upset_targets(patterns)
        hits = [
            Hit(self.registers[k].kind, int(self.graph.flops.state[k]),
                int(self.rng.integers(self.scrub)), self.registers[k])
            for k in self.rng.choice(targets, n)
        ]  # fmt: skip
        lanes = self._batches(hits, progress, "upsets")
        return _summary(hits, lanes), int(lanes.persisting.sum())

    def transients(self, n: int, progress: Callable[[str], None]) -> dict[str, TransientCount]:
        sites = self._transient_sites()
        found = {}
        for kind, choices in sites.items():
            if not choices:
                continue
            hits = [
                Hit(kind, node, int(self.rng.integers(self.scrub)), register, upset=False)
                for node, register in (choices[k] for k in self.rng.integers(len(choices), size=n))
            ]  # fmt: skip
            lanes = self._batches(hits, progress, f"transients on {kind}")
            found[kind] = TransientCount(
                injections=n,
                corrupted=int(lanes.corrupted.sum()),
                flagged=int(lanes.flagged.sum()),
                persisting=int(lanes.persisting.sum()),
            )
        return found

    def _transient_sites(self) -> dict[str, list[tuple[int, RegisterBank | None]]]:
        g = self.graph
        voters, inputs = _voters(self.gates, g, self.registers)
        written = self._written()  # what a write at address 0 changes: slow control rewrites it

        def port(name: str, register: RegisterBank | None = None) -> list:
            return [(int(n), register) for n in g.inputs.get(name, [])]

        return {
            "voter output": voters,
            "voter input": inputs,
            "write enable": port("cfg_we", written),
            "write data": port("cfg_wdata", written),
            "reset": port("rst_n"),
            "clock gate": [(int(n), None) for n in g.gates.node],
        }

    def _written(self) -> RegisterBank | None:
        """The bank at address 0, which the campaign's writes and held address select."""
        names = [name for name, a in self.addresses.items() if a == 0]
        return next((r for r in self.design.registers if names and r.name == names[0]), None)

    def _batches(self, hits: list[Hit], progress: Callable[[str], None], what: str) -> _Lanes:
        parts = []
        for start in range(0, len(hits), 63):
            parts.append(self._batch(hits[start : start + 63]))
            progress(f"{min(start + 63, len(hits))}/{len(hits)} {what}")
        return _Lanes(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in
              ("corrupted", "flagged", "persisting", "counted")),
            [c for p in parts for c in p.corrected_after],
        )  # fmt: skip

    def _batch(self, hits: list[Hit]) -> _Lanes:
        sim, n = self.sim, len(hits)
        sim.values[:] = self.snapshot
        bit = [np.array([np.uint64(1) << np.uint64(j + 1)], np.uint64) for j in range(n)]
        corrupted = np.zeros(1, np.uint64)
        flagged = np.zeros(1, np.uint64)
        corrected: list[int | None] = [None] * n
        address = 0
        for cycle in range(self.window):
            inputs = {"in_valid": 1, "charges": self.stream[cycle % len(self.stream)]}
            if self.image:
                writing = any(h.kind == "write data" and h.cycle == cycle for h in hits)
                inputs |= {"cfg_we": int(writing), "cfg_addr": address,
                           "cfg_wdata": self.image[address] if writing else 0}  # fmt: skip
            flips: dict[int, np.ndarray] = {}
            for j, hit in enumerate(hits):
                if hit.cycle != cycle:
                    continue
                if hit.upset:
                    sim.values[hit.node] ^= bit[j]
                else:
                    flips[hit.node] = flips.get(hit.node, np.zeros(1, np.uint64)) | bit[j]
            self._set(inputs)
            sim.settle(flips)
            corrupted |= self._differs()
            flagged |= sim.read("tmr_error")[0] if "tmr_error" in self.graph.outputs else 0
            for j, hit in enumerate(hits):
                if hit.upset and corrected[j] is None and cycle > hit.cycle:
                    value = sim.values[hit.node, 0]
                    if ((value >> np.uint64(j + 1)) & np.uint64(1)) == (value & np.uint64(1)):
                        corrected[j] = cycle - hit.cycle
            sim.edge()
        self._rewrite({h.register.name for h in hits if h.register and h.register.kind == "config"})
        persisting = np.bitwise_or.reduce(
            _apart(sim.values[self.graph.flops.state[self.compared], 0])
        )
        counts = self._counts()
        lanes = np.arange(1, n + 1, dtype=np.uint64)

        def per_lane(mask: np.ndarray | np.uint64) -> np.ndarray:
            return ((np.uint64(mask) >> lanes) & np.uint64(1)).astype(bool)

        return _Lanes(
            per_lane(corrupted[0]), per_lane(flagged[0]),
            per_lane(persisting), counts[1 : n + 1] - counts[0],
            [c if h.upset and h.register and h.register.protected else None
             for c, h in zip(corrected, hits, strict=True)],
        )  # fmt: skip

    def _set(self, values: dict[str, int | np.ndarray]) -> None:
        """Drive the ``values`` the netlist has ports for (hardwired weights: no cfg_*)."""
        for port, value in values.items():
            if port in self.graph.inputs:
                self.sim.set(port, value)

    def _differs(self) -> np.ndarray:
        """Lanes whose observed outputs differ from lane 0's."""
        found = np.zeros(1, np.uint64)
        for port in _OBSERVED:
            if port in self.graph.outputs:
                found |= np.bitwise_or.reduce(_apart(self.sim.read(port)[:, 0]))
        return found

    def _rewrite(self, registers: set[str]) -> None:
        """Slow control writes the hit configuration registers again, then two idle cycles."""
        for name in sorted(registers):
            if name in self.addresses:
                a = self.addresses[name]
                self._set({"cfg_we": 1, "cfg_addr": a, "cfg_wdata": self.image[a]})
                self.sim.settle()
                self.sim.edge()
        self._set({"cfg_we": 0})
        for _ in range(2 + self.scrub):
            self.sim.settle()
            self.sim.edge()
        self.sim.settle()

    def _counts(self) -> np.ndarray:
        if "tmr_error_count" not in self.graph.outputs:
            return np.zeros(64, np.int64)
        return unpack(self.sim.read("tmr_error_count"))


def _apart(words: np.ndarray) -> np.ndarray:
    """One-word rows (uint64) with bit j set where lane j differs from lane 0."""
    return words ^ (np.uint64(0) - (words & np.uint64(1)))


def _flop_registers(names: list[str], registers: list[RegisterBank]) -> list[RegisterBank | None]:
    """The register bank each flip-flop belongs to: by the primitive's path in its name, or
    by the register's own name (``tmr_error_count[3]$_DFFE_PN0P_``)."""
    by_instance = {r.instance: r for r in registers}
    by_name = {r.name: r for r in registers}
    found = []
    for name in names:
        m = _LEAF.match(name)
        bank = by_instance.get(m["instance"]) if m else None
        found.append(bank or by_name.get(_BANK.match(name)["bank"]))
    return found


def _voters(
    gates: netlist.Netlist, graph: GateGraph, registers: list[RegisterBank | None]
) -> tuple[list[tuple[int, RegisterBank | None]], list[tuple[int, RegisterBank | None]]]:
    """(voter output node, register) for every cell reading all three copies of a bit, and
    (copy state node, register) for every copy."""
    state_of = dict(zip(graph.flops.names, graph.flops.state.tolist(), strict=True))
    register_of = dict(zip(graph.flops.names, registers, strict=True))
    copy_net: dict[str, tuple[tmr.Bit, str]] = {}
    inputs = []
    protected = [r for r in registers if r is not None and r.protected]
    by_name = {i.name: i for i in gates.instances if i.name in state_of}
    for bit, held in tmr.copies(state_of, protected).items():
        for copy, flop in held.items():
            q = [e for p, e in by_name[flop].pins.items() if p.startswith("Q")]
            if q:
                copy_net[q[0].strip()] = (bit, copy)
            inputs.append((state_of[flop], register_of[flop]))
    output_of = dict(zip(graph.watched_cell.tolist(), (graph.watched >> 1).tolist(), strict=True))
    voters = []
    for k, inst in enumerate(gates.instances):
        read = [copy_net.get(e.strip()) for e in inst.pins.values()]
        bits = {r[0] for r in read if r}
        if len(bits) == 1 and len({r[1] for r in read if r}) == 3 and inst.name not in state_of:
            reg_name = next(iter(bits))[0]
            node = output_of.get(k)
            if node is not None and node >= graph.first_and:
                reg = next(r for r in protected if r.name == reg_name)
                voters.append((node, reg))
    return voters, inputs


def _summary(hits: list[Hit], lanes: _Lanes) -> SeuCampaign:
    protected = [k for k, h in enumerate(hits) if h.register is not None and h.register.protected]
    cycles = [lanes.corrected_after[k] for k in protected if lanes.corrected_after[k] is not None]
    kinds = sorted({h.kind for h in hits})
    return SeuCampaign(
        injections=len(hits),
        masked=int((~lanes.corrupted).sum()),
        corrupted=int(lanes.corrupted.sum()),
        flagged=int(lanes.flagged.sum()),
        protected_injections=len(protected),
        corrected=len(cycles),
        correction_cycles_max=max(cycles, default=0),
        correction_cycles_mean=round(sum(cycles) / len(cycles), 3) if cycles else 0.0,
        counted_once=int(sum(lanes.counted[k] == 1 for k in protected)),
        by_kind={
            kind: SeuKind(
                injections=sum(h.kind == kind for h in hits),
                corrupted=int(
                    sum(c for h, c in zip(hits, lanes.corrupted, strict=True) if h.kind == kind)
                ),
            )
            for kind in kinds
        },  # fmt: skip
    )


def run(
    sim: CycleSim, gates: netlist.Netlist, design: RtlDesign, image: list[int] | None,
    stream: np.ndarray, upsets: int, transients: int, seed: int,
    progress: Callable[[str], None] = print, targets: list[str] | None = None,
) -> NetlistSeu:  # fmt: skip
    """The campaign on a configured simulator (one word): ``upsets`` upsets (on the
    flip-flops ``targets`` names, if given), then ``transients`` transients on each kind of
    net of :data:`TRANSIENTS` the netlist has."""
    start = time.perf_counter()
    campaign = Campaign(sim, gates, design, image, stream, seed)
    found, persisting = campaign.upsets(upsets, progress, targets) if upsets else (None, 0)
    return NetlistSeu(
        tmr=design.description.tmr,
        upsets=found,
        upsets_persisting=persisting,
        transients=campaign.transients(transients, progress) if transients else {},
        window_cycles=campaign.window,
        seconds=round(time.perf_counter() - start, 1),
    )
