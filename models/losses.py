"""Training losses on unit-sum (N, 48) maps: ``emd`` (the EMD-CNN), ``telescope``, ``mse``, and
``emd_exact`` (exact EMD, the reference the EMD-CNN loss is measured against)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from econflow.models import emd_cnn
from econflow.models._keras import tf
from econflow.models.emd import emd_and_gradient
from econflow.models.geometry import N_ROC, N_TC, boundary_windows

Loss = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
LOSSES = ("emd", "telescope", "mse", "emd_exact")


def emd_loss(emd_model: tf.keras.Model) -> Loss:
    """Mean EMD estimated by the EMD-CNN (arXiv 2306.04712), each pair read in a random one
    of the module's rotations (``emd_cnn.one_rotation``); the network is not trained here."""
    emd_model.trainable = False
    estimate = emd_cnn.one_rotation(emd_model)

    def emd(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(estimate(tf.cast(y_true, y_pred.dtype), y_pred))

    return emd


def exact_emd_loss() -> Loss:
    """Mean exact EMD (POT's network simplex on the TC geometry), differentiated through the
    transport problem's dual potentials (``emd.emd_and_gradient``).

    It is what the EMD-CNN estimates, without the estimate's error, but it is solved on the
    CPU module by module (about 0.2 ms each, outside TensorFlow's graph): a training with it
    takes about twice as long as with the EMD-CNN.
    """

    @tf.custom_gradient
    def per_module(t: tf.Tensor, p: tf.Tensor) -> tuple[tf.Tensor, Callable]:
        value, grad = tf.numpy_function(emd_and_gradient, [t, p], [tf.float32, tf.float32])

        def backward(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            return tf.zeros_like(t), upstream[:, None] * grad

        return value, backward

    def emd_exact(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(per_module(tf.cast(y_true, tf.float32), y_pred))

    return emd_exact


def _window_matrix(size: int) -> np.ndarray:
    """(48, groups) 0/1 matrix summing TCs in every ``size`` x ``size`` window of each chip."""
    columns = []
    for roc in range(N_ROC):
        for i in range(4 - size + 1):
            for j in range(4 - size + 1):
                col = np.zeros(N_TC, dtype=np.float32)
                for di in range(size):
                    for dj in range(size):
                        col[16 * roc + 4 * (i + di) + (j + dj)] = 1.0
                columns.append(col)
    return np.stack(columns, axis=1)


def telescope_windows() -> np.ndarray:
    """(48, 36) 0/1 matrix: ECON-T's overlapping 2x2 windows, 27 inside the chips and 9
    straddling the chip boundaries."""
    across = np.zeros((N_TC, len(boundary_windows())), dtype=np.float32)
    for column, cells in enumerate(boundary_windows()):
        across[cells, column] = 1.0
    return np.concatenate([_window_matrix(2), across], axis=1)


def telescope_loss() -> Loss:
    """ECON-T's multi-scale loss: charge-weighted squared error on TCs, 2x2 windows and chips.

    Each term weights the squared difference by the larger of the two values, so errors where
    charge is deposited count most; the 2x2 windows overlap and cross the chip boundaries
    (``telescope_windows``), the coarsest scale is each chip's sum (its 4x4 block), and the
    scales are weighted 4 : 2 : 1 as in ECON-T.
    """
    windows2 = tf.constant(telescope_windows())
    chips = tf.constant(_window_matrix(4))

    def term(t: tf.Tensor, p: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(tf.square(t - p) * tf.maximum(t, p), axis=-1)

    def telescope(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        t = tf.cast(y_true, y_pred.dtype)
        return tf.reduce_mean(
            4.0 * term(t, y_pred)
            + 2.0 * term(t @ windows2, y_pred @ windows2)
            + term(t @ chips, y_pred @ chips)
        )

    return telescope


def make_loss(name: str, emd_model: tf.keras.Model | None = None) -> Loss:
    """The named training loss; ``emd`` needs the trained EMD-CNN."""
    if name == "emd":
        if emd_model is None:
            raise ValueError("the 'emd' loss needs a trained EMD-CNN")
        return emd_loss(emd_model)
    if name == "telescope":
        return telescope_loss()
    if name == "mse":
        return tf.keras.losses.MeanSquaredError()
    if name == "emd_exact":
        return exact_emd_loss()
    raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}")
