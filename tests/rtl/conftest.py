"""What the RTL tests share: a model small enough to synthesize in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from econflow.config import load_config
from econflow.models import quantized

TINY = Path(__file__).parents[1] / "configs" / "tiny.yaml"


@pytest.fixture(scope="session")
def small_model() -> quantized.QuantizedModel:
    """One conv filter and two latent values on tiny's formats, with 4-bit inputs."""
    cfg = load_config(TINY)
    m = cfg.design.model.model_copy(
        update={
            "input": cfg.design.model.input.model_copy(update={"bits": 4, "integer": 1}),
            "conv": cfg.design.model.conv.model_copy(update={"filters": 1}),
            "dense": cfg.design.model.dense.model_copy(update={"latent": 2}),
        }
    )
    rng = np.random.default_rng(1)
    conv = (rng.integers(-32, 32, (3, 3, 1, 1)), rng.integers(0, 64, 1))
    dense = (rng.integers(-32, 32, (16, 2)), rng.integers(0, 64, 2))
    return quantized.build(m, 6, conv, dense)
