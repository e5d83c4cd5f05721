"""The import contracts of ``pyproject.toml`` (import-linter): data flows one way through the
stages, the core knows no stage, and the ASIC stage is layered."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]


def package_tree(target: Path) -> Path:
    """The ``econflow`` package laid out as one folder, as the installed wheel has it:
    import-linter walks a package's folder, and the repository keeps its subpackages in
    top-level folders (``pyproject.toml``'s package-dir)."""
    folders = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ]
    for package, folder in folders.items():
        destination = target.joinpath(*package.split("."))
        destination.mkdir(parents=True, exist_ok=True)
        for source in (ROOT / folder).glob("*.py"):
            shutil.copyfile(source, destination / source.name)
    return target


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """import-linter with the contracts of ``pyproject.toml`` on the package in ``tree``."""
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "lint-imports"),
            "--no-cache",
            "--no-logo",
            str(ROOT / "pyproject.toml"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree.parent,
    )


def test_import_contracts_hold(tmp_path):
    result = lint_imports(package_tree(tmp_path / "src"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_a_stage_importing_a_later_one_breaks_the_contract(tmp_path):
    tree = package_tree(tmp_path / "src")
    models = tree / "econflow" / "models" / "geometry.py"
    models.write_text(models.read_text() + "\nfrom econflow.rtl import naming  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode == 1
    assert "econflow.models.geometry -> econflow.rtl.naming" in result.stdout
