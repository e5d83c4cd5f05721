"""Bulk regressions: vectors and expected outputs in memory files, checked inside the simulator.

No Python runs per vector, so large regressions cost simulator time only. The expected values
come from the fixed-point model (the golden reference) truncated to the RTL's output bits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from econflow import __version__, tools
from econflow.errors import EconflowError
from econflow.models import fixedpoint
from econflow.models.quantized import QuantizedModel
from econflow.rtl.artefacts import Ports, RtlDesign
from econflow.templating import environment
from econflow.verification.results import BulkCounts

Simulator = Literal["icarus", "verilator"]
SIMULATORS: tuple[Simulator, ...] = ("icarus", "verilator")
CLOCK_PERIOD_NS = 25
_CHUNK = 65_536
_RESULT = re.compile(r"^BULK (.*)$", re.MULTILINE)
PROGRESS = "PROGRESS "


def expected_outputs(
    model: QuantizedModel, design: RtlDesign, charges: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What the RTL must output: latent values int64 (N, latent) and module sums int64 (N,).

    The RTL sends the ``output_bits`` most significant bits of each latent value.
    """
    golden = fixedpoint.evaluate(model, charges)
    drop = model.latent.bits - design.output_bits
    return golden >> drop, np.asarray(charges, dtype=np.int64).sum(axis=1)


def pack_hex(values: np.ndarray, width: int) -> list[str]:
    """Rows of unsigned fields int64 (N, K) as hex words, field k at ``[k*width +: width]``."""
    values = np.atleast_2d(np.asarray(values, dtype=np.int64))
    total = values.shape[1] * width
    pad = -total % 8
    digits = (total + 3) // 4
    lines = []
    shifts = np.arange(width, dtype=np.int64)
    for start in range(0, len(values), _CHUNK):
        block = values[start : start + _CHUNK]
        bits = ((block[:, :, None] >> shifts) & 1).astype(np.uint8).reshape(len(block), -1)
        msb_first = np.concatenate([np.zeros((len(block), pad), np.uint8), bits[:, ::-1]], axis=1)
        packed = np.packbits(msb_first, axis=1)
        lines += [row.tobytes().hex()[-digits:] for row in packed]
    return lines


def _write_memory(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")


def run(
    design: RtlDesign,
    model: QuantizedModel,
    charges: np.ndarray,
    image: list[int] | None,
    work: Path,
    simulator: Simulator = "icarus",
    sources: list[Path] | None = None,
    defines: tuple[str, ...] = (),
    vcd: str | None = None,
    dump_scopes: tuple[str, ...] = (),
    label: str = "bulk",
) -> BulkCounts:
    """Simulate ``charges`` through the RTL with ``image`` loaded and count mismatches.

    ``sources`` replaces the RTL's files (a gate-level netlist and its cell models, with
    ``defines``); ``vcd`` names a value-change dump of the design's own nets while vectors
    stream, one clock cycle per vector, with those of the module instances ``dump_scopes``
    (paths below the top, ``/`` between levels). Progress (weights loaded, vectors
    streamed) is printed in tenths under ``label``.

    Returns the counts the testbench made itself.
    """
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    ports = design.ports
    latent, sums = expected_outputs(model, design, charges)
    files = {"vectors": "vectors.hex", "expected": "expected.hex"}
    _write_memory(work / files["vectors"], pack_hex(charges, ports.charge_bits))
    _write_memory(work / files["expected"], pack_hex(latent, ports.output_bits))
    if ports.sum_bits:
        files["expected_sum"] = "expected_sum.hex"
        _write_memory(work / files["expected_sum"], pack_hex(sums[:, None], ports.sum_bits))
    programmable = design.programmable
    if programmable:
        if image is None:
            raise EconflowError(f"{design.top} has programmable weights: give a weight image")
        files["image"] = "image.hex"
        _write_memory(work / files["image"], pack_hex(np.array(image)[:, None], ports.data_bits))
    tb = work / "bulk_tb.v"
    tb.write_text(
        environment("econflow.verification")
        .get_template("bulk_tb.v.j2")
        .render(
            version=__version__,
            d=design,
            n=len(charges),
            n_param=len(image or []),
            programmable=programmable,
            ports=ports,
            charge_width=ports.n_tc * ports.charge_bits,
            latent_width=ports.latent_size * ports.output_bits,
            sum_bits=ports.sum_bits,
            half_period_ns=CLOCK_PERIOD_NS / 2,
            files=files,
            unmapped=unmapped_address(ports, len(image or [])),
            vcd=vcd,
            dump_scopes=dump_scopes,
            weight_step=max(1, len(image or []) // 10),
            vector_step=max(1, len(charges) // 10),
        )
    )
    files = [f.resolve() for f in (sources or design.files)]
    progress = _progress_printer(label)
    if simulator == "icarus":
        output = _icarus(files, defines, tb, work, progress)
    else:
        output = _verilator(files, tb, work, progress)
    return _result(output, work / "sim.log")


def _progress_printer(label: str) -> Callable[[str], None]:
    def show(line: str) -> None:
        if line.startswith(PROGRESS):
            print(f"  {label}: {line.removeprefix(PROGRESS).strip()}", flush=True)

    return show


def unmapped_address(ports: Ports, n_registers: int) -> int | None:
    """The highest address when the map leaves it free (its writes must be ignored)."""
    top = 2**ports.address_bits - 1
    return top if ports.address_bits and n_registers <= top else None


def _icarus(
    sources: list[Path],
    defines: tuple[str, ...],
    tb: Path,
    work: Path,
    progress: Callable[[str], None],
) -> str:
    iverilog = tools.find("iverilog", "the bulk regression simulates with Icarus Verilog")
    vvp = tools.find("vvp", "the bulk regression simulates with Icarus Verilog")
    flags = [f"-D{d}" for d in defines]
    tools.run(
        [iverilog, "-g2005", *flags, "-o", "sim.vvp", "-s", "bulk_tb", tb.name, *map(str, sources)],
        work / "compile.log",
        "iverilog",
        cwd=work,
    )
    return tools.run([vvp, "-n", "sim.vvp"], work / "sim.log", "vvp", cwd=work, on_line=progress)


def _verilator(sources: list[Path], tb: Path, work: Path, progress: Callable[[str], None]) -> str:
    verilator = tools.find("verilator", "the bulk regression simulates with Verilator")
    cmd = [verilator, "--binary", "--timing", "-O3", "-Wno-fatal", "-Wno-lint", "-Wno-style"]
    cmd += ["--top-module", "bulk_tb", "-o", "Vbulk_tb", "--Mdir", "obj_dir", "-j", "2"]
    tools.run([*cmd, tb.name, *map(str, sources)], work / "compile.log", "verilator", cwd=work)
    binary = str(work / "obj_dir" / "Vbulk_tb")
    return tools.run([binary], work / "sim.log", "Vbulk_tb", cwd=work, on_line=progress)


def _result(output: str, log: Path) -> BulkCounts:
    match = _RESULT.search(output)
    if match is None:
        raise EconflowError(f"the bulk testbench printed no result line; see {log}")
    counts = {key: int(value) for key, value in re.findall(r"(\w+)=(-?\d+)", match.group(1))}
    return BulkCounts(**counts)
