#!/usr/bin/env bash
# Set up econflow on a fresh Debian machine, then run the given command inside its venv.
#   ./bootstrap.sh sc flow run encoder.yaml     the main job
#   ./bootstrap.sh pytest                       the tests
# System packages come from apt when running as root; Python packages go into ./.venv and are
# reinstalled only when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

APT_PACKAGES=(python3 python3-venv python3-dev)

missing_apt() {
    local pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
    done
}

if command -v dpkg-query >/dev/null && [ -n "$(missing_apt)" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "bootstrap: installing system packages: $(missing_apt | tr '\n' ' ')"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(missing_apt) >/dev/null
    elif ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        echo "bootstrap: missing system packages: $(missing_apt | tr '\n' ' ') (run as root or install them)" >&2
        exit 1
    fi
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "bootstrap: econflow needs Python 3.11 (TensorFlow 2.15); $PYTHON is $("$PYTHON" --version 2>&1)" >&2
    exit 1
fi

STAMP=.venv/.econflow-installed
WANT=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "bootstrap: installing Python packages into .venv"
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    echo "$WANT" > "$STAMP"
fi

export PATH="$PWD/.venv/bin:$PATH"
exec "$@"
