"""Tool checks of the generated Verilog: Verilator lint and a generic Yosys synthesis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from econflow import tools
from econflow.errors import EconflowError


def lint(files: list[Path], top: str, log: Path) -> None:
    """Verilator ``--lint-only -Wall``; any warning fails.

    Raises:
        EconflowError: Verilator reported warnings or errors (the log holds them).
    """
    exe = tools.find("verilator", "the rtl step lints the Verilog with it")
    cmd = [exe, "--lint-only", "-Wall", "--top-module", top, *map(str, files)]
    try:
        tools.run(cmd, log, "verilator")
    except EconflowError:
        raise EconflowError(f"Verilator lint of {top} failed: see {log}") from None


# ABC's fast mapping. The default script's SAT sweeping (``&fraig -x``, ``scorr``) runs for
# tens of minutes on multipliers fed by TMR voters, even on a design of a few hundred registers.
ABC_SCRIPT = "+strash;dretime;map"


def synth_stats(files: list[Path], top: str, work: Path) -> dict[str, Any]:
    """Cell and flip-flop counts after Yosys' generic synthesis (``synth -flatten``).

    Returns ``{"cells": int, "flip_flops": int, "cells_by_type": {type: count}}``.
    """
    exe = tools.find("yosys", "the rtl checks synthesize with it")
    stat = work / "yosys_stat.json"
    commands = (
        f"synth -flatten -noabc -top {top}; abc -script {ABC_SCRIPT}; opt -fast; "
        f"tee -q -o {stat} stat -json"
    )
    tools.run([exe, *map(str, files), "-p", commands], work / "yosys.log", "yosys")
    design = json.loads(stat.read_text())["design"]
    by_type = design.get("num_cells_by_type", {})
    return {
        "cells": int(design["num_cells"]),
        "flip_flops": sum(n for kind, n in by_type.items() if "DFF" in kind.upper()),
        "cells_by_type": by_type,
    }
