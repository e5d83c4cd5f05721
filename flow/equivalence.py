"""Formal equivalence of the synthesized netlist with the generated RTL, by Yosys and ABC.

Each module the netlist keeps (one per shape of sum) is proved once, however often it is
instantiated; the top is proved with those modules cut out (``expose -evert``: their
instances' ports become ports of the top, named by instance), so the proof grows with the
distinct logic rather than with the 1.7 million cells of the default design.

Per module, Yosys builds a miter of the RTL (gold, taken through Yosys' coarse synthesis to
generic gates so that arithmetic has the structure ABC mapped, which SAT sweeping needs to
prove multipliers equal) and the netlist (gate, its cells from the models generated from the
liberty and proved against the PDK's, :mod:`econflow.flow.cell_models`). A clocked module
starts from its reset state (Yosys ``sim`` writes it back as the initial state) and every
clock, gated ones too, becomes data under one global clock (``clk2fflogic``). ABC's
``&scorr`` and ``dprove`` (signal correspondence, induction) then prove that the miter's
output never rises.
What is written here is the script and the reading of ABC's verdict: no library does
RTL-to-netlist equivalence of a hierarchical design.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from econflow import tools
from econflow.errors import EconflowError, FormatError, ToolMissingError
from econflow.flow import cell_models
from econflow.flow.formats import netlist as netlist_format
from econflow.flow.results import EquivalenceResult, ModuleProof
from econflow.templating import environment

_PURPOSE = "the netlist is proved equivalent to the RTL with Yosys and ABC"
_STATS = re.compile(r"i/o\s*=\s*(\d+)/\s*(\d+)\s+lat\s*=\s*(\d+)\s+and\s*=\s*(\d+)")
CLOCK, RESET = "clk", "rst_n"
# Signal correspondence first (&scorr merges the registers and nodes of the two sides that
# simulation and induction show equal), then dprove on what is left: on the default design's
# dense sum 127 s, where dprove alone had not finished in 14 minutes (RESULTS.md).
ABC_PROOF = "&get; &scorr; &put; dprove"


def _abc() -> str:
    """ABC as the pyosys wheel ships it (``yosys-abc``, not on PATH)."""
    try:
        import pyosys
    except ImportError as exc:
        raise ToolMissingError(f"pyosys not installed: {_PURPOSE}") from exc
    found = Path(pyosys.__file__).parent / "yosys-abc"
    if not found.is_file():
        raise ToolMissingError(f"yosys-abc not found in {found.parent}: {_PURPOSE}")
    return str(found)


def _verdict(output: str, log: Path) -> tuple[bool, str]:
    """ABC's verdict: sequential miters end in "Networks are equivalent" or "... NOT
    EQUIVALENT ..." (or "not equivalent" after a counterexample "asserted in frame N"),
    combinational ones (proved by SAT sweeping) in "UNSATISFIABLE" or "SATISFIABLE"."""
    for line in output.splitlines():
        text = line.strip()
        if "Networks are equivalent" in text or text.startswith("UNSATISFIABLE"):
            return True, text
        if "not equivalent" in text.lower() or text.startswith(("SATISFIABLE", "Output ")):
            return False, text
    raise EconflowError(f"ABC decided nothing on the miter; see {log}")


def prove_module(
    module: str,
    rtl: list[Path],
    netlist: Path,
    models: Path,
    kept: list[str],
    clocked: bool,
    work: Path,
    instances: int = 1,
) -> ModuleProof:
    """Prove ``module`` of ``netlist`` equal to its RTL, ``kept`` modules cut out."""
    work.mkdir(parents=True, exist_ok=True)
    script = work / "miter.ys"
    script.write_text(
        environment("econflow.flow")
        .get_template("equivalence.ys.j2")
        .render(
            module=module,
            rtl=[p.resolve() for p in rtl],
            netlist=netlist.resolve(),
            models=models.resolve(),
            kept=kept,
            clock=CLOCK if clocked else None,
            reset=RESET,
        )
    )
    start = time.perf_counter()
    yosys = tools.find("yosys", _PURPOSE)
    tools.run([yosys, "-s", script.name], work / "yosys.log", "yosys (miter)", cwd=work)
    log = work / "abc.log"
    output = tools.run(
        [_abc(), "-c", f"read miter.aig; print_stats; {ABC_PROOF}"], log, "yosys-abc", cwd=work
    )
    equivalent, verdict = _verdict(output, log)
    stats = _STATS.search(output)
    return ModuleProof(
        module=module,
        instances=instances,
        equivalent=equivalent,
        verdict=verdict,
        and_nodes=int(stats.group(4)) if stats else 0,
        latches=int(stats.group(3)) if stats else 0,
        seconds=round(time.perf_counter() - start, 1),
    )


def _stub(name: str, module: netlist_format.Module) -> str:
    """A module's ports alone: what the top's proof needs of the modules it cuts out."""
    lines = [f"module {name}({', '.join(p.name for p in module.ports)});"]
    for p in module.ports:
        width = "" if p.msb is None else f"[{p.msb}:{p.lsb}] "
        lines.append(f"  {p.direction} {width}{p.name};")
    return "\n".join([*lines, "endmodule", ""])


def _module_file(text: str, name: str, stubs: str, target: Path) -> Path:
    """``name``'s text alone (and the stubs of the modules it instantiates): Yosys reads one
    module, not the whole netlist, for each proof."""
    start, end = netlist_format.module_body(text, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text[start : end + len("endmodule")] + "\n" + stubs)
    return target


def prove(
    top: str,
    rtl: list[Path],
    netlist: Path,
    liberty: Path,
    pdk_models: list[Path],
    defines: tuple[str, ...],
    work: Path,
) -> EquivalenceResult:
    """Prove every module of ``netlist`` (the top and the modules it keeps) equal to the RTL,
    its cells modelled from ``liberty`` (each model proved against ``pdk_models`` first).
    Progress is printed per module.

    Raises:
        FormatError: no module ``top``, or a cell that cannot be modelled (named).
    """
    text = netlist.read_text()
    found = netlist_format.modules(text)
    if top not in found:
        raise FormatError(f"{netlist}: no module {top}")
    cells = {i.cell for m in found.values() for i in m.instances} - set(found)
    models = cell_models.for_netlist(liberty, cells, pdk_models, work, defines)
    kept = sorted(name for name in found if name != top)
    uses = {name: sum(i.cell == name for i in found[top].instances) for name in kept}
    stubs = "".join(_stub(name, found[name]) for name in kept)
    proofs = []
    for name in [*kept, top]:
        ports = {p.name for p in found[name].ports}
        print(
            f"  equivalence: {name} ({'top' if name == top else f'{uses[name]} instance(s)'})",
            flush=True,
        )
        gate = _module_file(text, name, stubs if name == top else "", work / name / "gate.v")
        proof = prove_module(
            name,
            rtl,
            gate,
            models,
            kept if name == top else [],
            CLOCK in ports and RESET in ports,
            work / name,
            1 if name == top else uses[name],
        )
        print(f"  equivalence: {name}: {proof.verdict} ({proof.seconds:.0f} s)", flush=True)
        proofs.append(proof)
    return EquivalenceResult(
        origin="Yosys miter of RTL and netlist per kept module, ABC dprove",
        modules=proofs,
    )
