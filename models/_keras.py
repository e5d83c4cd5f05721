"""TensorFlow/QKeras import with its start-up chatter silenced, and safe ``.h5`` loading."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from qkeras.utils import _add_supported_quantized_objects  # noqa: E402

from econflow.errors import ArtefactError  # noqa: E402

tf.get_logger().setLevel("ERROR")
# Keras 2 nags about .h5 (the format QKeras needs: .keras fails to reload QKeras layers) and
# about serializing QKeras quantizers as constraints (harmless: they load back through
# custom_objects()).
warnings.filterwarnings("ignore", message=".*HDF5 file via `model.save\\(\\)`.*")
warnings.filterwarnings("ignore", message=".*keras.constraints.serialize.*")


def custom_objects() -> dict[str, object]:
    """QKeras layers and quantizers, needed to read back a saved quantized model."""
    objects: dict[str, object] = {}
    _add_supported_quantized_objects(objects)
    return objects


def load_h5(path: Path) -> tf.keras.Model:
    """Load a Keras ``.h5`` model, turning a missing or corrupt file into one clear error."""
    if not path.is_file():
        raise ArtefactError(path, "model file is missing (run the step that writes it)")
    try:
        return tf.keras.models.load_model(path, custom_objects=custom_objects(), compile=False)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise ArtefactError(path, f"not a readable Keras .h5 model ({reason})") from None


def set_seed(seed: int) -> None:
    """Seed TensorFlow, NumPy and Python for a reproducible training run."""
    tf.keras.utils.set_random_seed(seed)
