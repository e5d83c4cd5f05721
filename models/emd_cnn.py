"""The differentiable EMD of arXiv 2306.04712: a CNN trained to predict exact EMD.

The network reads the difference of the two unit-sum maps rather than the pair. The ground
distance between trigger cells is Euclidean, so by Kantorovich-Rubinstein duality the exact EMD
is a function of ``d = a - b`` alone, symmetric under ``d -> -d`` and proportional to the size
of ``d``: it is the mass that moves, half the L1 norm of ``d``, times the mean distance it
travels. The core network sees ``d`` scaled to unit L2 norm (arranged as (4, 4, 3), one channel
per readout chip) and predicts only that mean distance; the model multiplies it by the moving
mass. Reading ``d`` and ``-d`` in each of the module's three rotations and averaging makes the
estimate symmetric and rotation-invariant by construction. Built from plain Keras layers, so
the ``.h5`` file loads without custom code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from econflow.config import EmdCnnSection
from econflow.models._keras import load_h5, set_seed, tf
from econflow.models.emd import emd_batch
from econflow.models.geometry import N_ROC, N_TC, TC_PER_ROC, tc_distances, to_roc_blocks
from econflow.models.results import RelativeError

keras = tf.keras
KINDS = ("modules", "distortions", "reconstructions")  # the codes 0, 1, 2 of Pairs.kind
CORE = "emd_core"
ROTATIONS = 3


def build(cfg: EmdCnnSection) -> keras.Model:
    """The EMD-CNN: two (4, 4, 3) unit-sum maps in, an (1,) EMD estimate out.

    One core network reads the maps' difference both ways round in each of the module's three
    rotations (it is symmetric under 120 degrees: TC i goes to TC i + 16 mod 48, the next
    chip), and the estimate is the moving mass times the mean of the six readings, as the
    exact EMD is the same for all.
    """
    core = keras.Sequential(name=CORE)
    core.add(keras.Input((4, 4, N_ROC)))
    for _ in range(cfg.conv_layers):
        core.add(keras.layers.Conv2D(cfg.filters, cfg.kernel, padding="same", use_bias=False))
        core.add(keras.layers.BatchNormalization())
        core.add(keras.layers.Activation("relu"))
    core.add(keras.layers.Flatten())
    core.add(keras.layers.Dense(cfg.dense, activation="relu"))
    core.add(keras.layers.Dense(1, activation="softplus"))
    return _readings(core, ROTATIONS)


def trainer(model: keras.Model) -> keras.Model:
    """The network's core reading each difference both ways in one rotation, for fitting:
    three times cheaper than the whole network, fed pairs in random rotations (``rotated``)."""
    return _readings(model.get_layer(CORE), 1)


def _readings(core: keras.Model, rotations: int) -> keras.Model:
    a = keras.Input((4, 4, N_ROC), name="map_a")
    b = keras.Input((4, 4, N_ROC), name="map_b")
    forward, backward = keras.layers.Subtract()([a, b]), keras.layers.Subtract()([b, a])
    outs = []
    for k in range(rotations):
        for sign, d in (("plus", forward), ("minus", backward)):
            turned = d if k == 0 else _rotation(k, f"rotate_{k}_{sign}")(d)
            outs.append(core(keras.layers.UnitNormalization(axis=[1, 2, 3])(turned)))
    distance = keras.layers.Average(name="mean_distance")(outs)
    moved = keras.layers.Add()([keras.layers.ReLU()(forward), keras.layers.ReLU()(backward)])
    mass = _fixed_sum(0.5, "moving_mass")(keras.layers.Flatten()(moved))
    out = keras.layers.Multiply(name="symmetric_emd")([mass, distance])
    return keras.Model([a, b], out, name="emd_cnn")


def _fixed_sum(weight: float, name: str) -> keras.layers.Layer:
    """A fixed Dense layer: ``weight`` times the sum of its 48 inputs."""
    layer = keras.layers.Dense(1, use_bias=False, trainable=False, name=name)
    layer.build((None, N_TC))
    layer.set_weights([np.full((N_TC, 1), weight, dtype=np.float32)])
    return layer


def _rotation(k: int, name: str) -> keras.layers.Layer:
    """A fixed 1x1 convolution moving each chip's block k chips on: the module rotated by
    k x 120 degrees (a plain Keras layer, so the .h5 file loads without custom code)."""
    layer = keras.layers.Conv2D(N_ROC, 1, use_bias=False, trainable=False, name=name)
    layer.build((None, 4, 4, N_ROC))
    moved = np.zeros((1, 1, N_ROC, N_ROC), dtype=np.float32)
    for chip in range(N_ROC):
        moved[0, 0, chip, (chip + k) % N_ROC] = 1.0
    layer.set_weights([moved])
    return layer


def rotated(pairs: Pairs, seed: int) -> Pairs:
    """The pairs, each turned by a random one of the module's three rotations (same EMD)."""
    turns = np.random.default_rng(seed).integers(0, ROTATIONS, len(pairs.emd))
    cells = (np.arange(N_TC)[None, :] - TC_PER_ROC * turns[:, None]) % N_TC
    a, b = (np.take_along_axis(m, cells, axis=1) for m in (pairs.a, pairs.b))
    return Pairs(a, b, pairs.emd, pairs.kind)


def one_rotation(model: keras.Model) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """The network's estimate for (N, 48) tensors, each pair read in a random rotation: an
    unbiased sample of the whole network's mean at a third of its cost (the training loss)."""
    readings = trainer(model)

    def estimate(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        turns = tf.random.uniform((tf.shape(a)[0], 1), 0, ROTATIONS, dtype=tf.int32)
        cells = (tf.range(N_TC)[None, :] - TC_PER_ROC * turns) % N_TC
        a, b = (_blocks(tf.gather(m, cells, batch_dims=1)) for m in (a, b))
        return readings([a, b], training=False)

    return estimate


def _blocks(maps: tf.Tensor) -> tf.Tensor:
    """(N, 48) tensor to (N, 4, 4, 3), the network's input arrangement (``to_roc_blocks``)."""
    return tf.transpose(tf.reshape(maps, (-1, N_ROC, 4, 4)), (0, 2, 3, 1))


def load(path: Path) -> keras.Model:
    """Read a trained EMD-CNN (``emd_cnn.h5``) and freeze it for use as a loss."""
    model = load_h5(path)
    model.trainable = False
    return model


def unit_sum(maps: np.ndarray) -> np.ndarray:
    """(N, 48) maps scaled to unit sum, float32; rows that sum to zero stay zero."""
    maps = np.asarray(maps, dtype=np.float64)
    total = maps.sum(axis=1, keepdims=True)
    return (maps / np.where(total > 0, total, 1.0)).astype(np.float32)


@dataclass(frozen=True)
class Pairs:
    """Map pairs labelled with exact EMD: a, b float32 (N, 48) unit-sum, emd float64 (N,)."""

    a: np.ndarray
    b: np.ndarray
    emd: np.ndarray
    kind: np.ndarray  # int8 (N,): the index of the pair's kind in KINDS


def make_pairs(charges: np.ndarray, n: int, seed: int) -> Pairs:
    """Half pairs of two modules, half a module and a reconstruction-like distortion of it."""
    rng = np.random.default_rng(seed)
    live = charges[charges.sum(axis=1) > 0].astype(np.float64)
    n_real = n // 2
    a = live[rng.integers(0, len(live), n)]
    b = np.empty_like(a)
    b[:n_real] = live[rng.integers(0, len(live), n_real)]
    b[n_real:] = _distort(a[n_real:], rng)
    kind = np.r_[np.zeros(n_real, np.int8), np.ones(n - n_real, np.int8)]
    swap = rng.random(n) < 0.5
    a[swap], b[swap] = b[swap], a[swap].copy()
    return Pairs(unit_sum(a), unit_sum(b), emd_batch(a, b, progress="exact EMD"), kind)


def _distort(maps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Distortions an autoencoder makes: charge leaking to neighbours, noise, a floor, loss.

    Strengths are drawn per pair so the labels span the EMD range of real reconstructions,
    from nearly perfect to badly smeared, and the maps from sparse to dense (softmax-like).
    """
    x = unit_sum(maps).astype(np.float64)
    n = len(x)
    kernel = np.exp(-((tc_distances() / rng.choice([1.5, 2.0, 3.0])) ** 2))
    kernel /= kernel.sum(axis=1, keepdims=True)
    leak = rng.uniform(0.1, 0.95, (n, 1))
    x = (1 - leak) * x + leak * (x @ kernel)
    x *= np.exp(rng.normal(0.0, rng.uniform(0.0, 0.8, (n, 1)), x.shape))
    dense = rng.random((n, 1)) < 0.5
    x += dense * rng.uniform(0.0, 0.01, (n, 1)) * rng.random(x.shape)
    drop = x < rng.uniform(0.0, 0.02, (n, 1))
    x[drop & (rng.random(x.shape) < 0.7)] = 0.0
    empty = x.sum(axis=1) <= 0
    x[empty] = maps[empty]
    return x


def relative_mse(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Squared error relative to the true EMD (softened below 0.1), the figure users read."""
    return tf.reduce_mean(tf.square((y_pred - y_true) / (y_true + 0.1)))


def train(cfg: EmdCnnSection, train_pairs: Pairs, progress: bool = True) -> keras.Model:
    """Fit the EMD-CNN against exact EMD.

    The paper fits plain MSE; a squared error relative to the true EMD weighs small
    distances (good reconstructions, where a loss works hardest) as much as large ones.
    """
    set_seed(cfg.seed)
    model = build(cfg)
    fitted = trainer(model)
    fitted.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=relative_mse)
    # Cosine decay to 1% of the rate smooths the BatchNorm-driven jitter of the last epochs;
    # the epoch with the best validation loss is the one kept.
    schedule = keras.callbacks.LearningRateScheduler(
        lambda epoch: (
            cfg.learning_rate * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * epoch / cfg.epochs)))
        )
    )
    best = keras.callbacks.EarlyStopping(patience=cfg.epochs, restore_best_weights=True)
    turned = rotated(train_pairs, cfg.seed)
    fitted.fit(
        [to_roc_blocks(turned.a), to_roc_blocks(turned.b)],
        turned.emd.astype(np.float32),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        validation_split=0.05,
        callbacks=[schedule, best],
        verbose=2 if progress else 0,
    )
    return model


def predict(model: keras.Model, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """EMD-CNN estimate for (N, 48) unit-sum map pairs, float64 (N,)."""
    out = model.predict([to_roc_blocks(a), to_roc_blocks(b)], batch_size=4096, verbose=0)
    return out[:, 0].astype(np.float64)


def relative_error(predicted: np.ndarray, true: np.ndarray, min_emd: float = 0.0) -> np.ndarray:
    """(predicted - true) / true over pairs whose true EMD exceeds ``min_emd``."""
    keep = true > min_emd
    return (predicted[keep] - true[keep]) / true[keep]


def accuracy(model: keras.Model, pairs: Pairs, min_emd: float) -> dict[str, RelativeError]:
    """Relative error of the network's estimate per kind of pair present in ``pairs``."""
    return by_kind(predict(model, pairs.a, pairs.b), pairs, min_emd)


def by_kind(predicted: np.ndarray, pairs: Pairs, min_emd: float) -> dict[str, RelativeError]:
    """Relative error of estimates already made for ``pairs``, per kind of pair present."""
    found = {}
    for code, name in enumerate(KINDS):
        chosen = pairs.kind == code
        rel = relative_error(predicted[chosen], pairs.emd[chosen], min_emd)
        if len(rel):
            found[name] = summary(rel)
    return found


def summary(rel: np.ndarray) -> RelativeError:
    """Mean, spread and 16th/84th percentiles of relative errors."""
    p16, p84 = np.percentile(rel, [16, 84])
    return RelativeError(
        pairs=len(rel), mean=float(rel.mean()), std=float(rel.std()), p16=float(p16), p84=float(p84)
    )
