"""The examples/ scripts run as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from econflow.config import DataSection
from econflow.models import dataset

ROOT = Path(__file__).resolve().parents[1]


def test_train_own_data_with_csv_files_and_a_custom_loss(tmp_path):
    header = ",".join(f"CALQ_{i}" for i in range(48))
    files = []
    for part, seed in (("a", 1), ("b", 2)):
        charges = dataset.generate(1500, DataSection(), seed=seed)
        path = tmp_path / f"calq_{part}.csv"
        np.savetxt(path, charges, fmt="%d", delimiter=",", header=header, comments="")
        files.append(str(path))
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "train_own_data.py"),
            str(ROOT / "tests" / "configs" / "tiny.yaml"),
            *files,
            "--epochs",
            "2",
            "--custom-epochs",
            "1",
            "--build-dir",
            str(tmp_path / "build"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "emd loss: mean EMD" in run.stdout
    assert "best_choice: mean EMD" in run.stdout
    assert "custom loss: mean EMD" in run.stdout
    data = (tmp_path / "build" / "models" / "metrics.json").read_text()
    assert '"source": "csv"' in data and '"modules": 3000' in data
    history = (tmp_path / "build" / "models" / "training_history.csv").read_text().splitlines()
    assert len(history) == 3  # header and two epochs
