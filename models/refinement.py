"""Refining the EMD-CNN on the autoencoder's own reconstructions while the autoencoder trains.

An EMD-CNN fitted on module pairs and synthetic distortions is least accurate on the maps the
autoencoder learns to produce, and an autoencoder trained against it drifts to where the
estimate errs low. Every few epochs, :class:`Refinement` labels (module, reconstruction)
pairs of training modules with exact EMD and fits the EMD-CNN a little on them, with fresh
module and distortion pairs beside them so it stays accurate there as well. The autoencoder's
loss holds the same network object, so its next epochs train against the refined estimate.
"""

from __future__ import annotations

import time

import numpy as np

from econflow.config import RefineSection
from econflow.models import emd_cnn
from econflow.models._keras import tf
from econflow.models.emd import emd_batch
from econflow.models.geometry import to_roc_blocks
from econflow.models.results import RefinementRound

keras = tf.keras
KEPT_ROUNDS = 4  # reconstruction pairs of the latest rounds stay in the fit; older ones drop


class Refinement(keras.callbacks.Callback):
    """Keras callback refining ``network`` every ``cfg.every`` epochs of the autoencoder.

    ``x`` are autoencoder inputs of training modules and ``targets`` the unit-sum maps it
    reproduces, row for row; ``charges`` are training modules for module and distortion pairs.
    """

    def __init__(
        self,
        cfg: RefineSection,
        network: keras.Model,
        x: np.ndarray,
        targets: np.ndarray,
        charges: np.ndarray,
        min_emd: float,
        seed: int,
    ) -> None:
        super().__init__()
        self.cfg, self.network, self.min_emd = cfg, network, min_emd
        self.x, self.targets, self.charges = x, targets, charges
        self.rounds: list[RefinementRound] = []
        self.seconds = 0.0
        self._kept: list[emd_cnn.Pairs] = []
        self._rng = np.random.default_rng(seed)
        network.trainable = True
        self._fitted = emd_cnn.trainer(network)
        self._fitted.compile(
            optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=emd_cnn.relative_mse
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if self.cfg.every and (epoch + 1) % self.cfg.every == 0:
            self.refine(epoch + 1)

    def refine(self, epoch: int) -> None:
        """Label new reconstruction pairs, then fit the EMD-CNN on them and the kept ones."""
        start = time.monotonic()
        pick = self._rng.choice(len(self.x), min(self.cfg.pairs, len(self.x)), replace=False)
        new = reconstruction_pairs(self.model, self.x[pick], self.targets[pick])
        error = emd_cnn.relative_error(
            emd_cnn.predict(self.network, new.a, new.b), new.emd, self.min_emd
        )
        self._kept = [*self._kept[1 - KEPT_ROUNDS :], new]
        others = emd_cnn.make_pairs(self.charges, self.cfg.pairs, int(self._rng.integers(2**31)))
        fit = emd_cnn.rotated(joined([*self._kept, others]), int(self._rng.integers(2**31)))
        self._fitted.fit(
            [to_roc_blocks(fit.a), to_roc_blocks(fit.b)],
            fit.emd.astype(np.float32),
            epochs=self.cfg.epochs,
            batch_size=256,
            verbose=0,
        )
        self.seconds += time.monotonic() - start
        mean, std = float(error.mean()), float(error.std())
        self.rounds.append(RefinementRound(epoch=epoch, rel_error_mean=mean, rel_error_std=std))
        print(
            f"  epoch {epoch}: EMD-CNN on {len(new.emd)} new reconstructions "
            f"{mean:+.4f} +- {std:.4f} (relative error); refined in "
            f"{time.monotonic() - start:.0f} s"
        )


def reconstruction_pairs(model: keras.Model, x: np.ndarray, targets: np.ndarray) -> emd_cnn.Pairs:
    """(target, reconstruction by ``model``) pairs labelled with exact EMD."""
    a = targets.astype(np.float32)
    b = emd_cnn.unit_sum(model.predict(x, batch_size=4096, verbose=0))
    kind = np.full(len(a), emd_cnn.KINDS.index("reconstructions"), np.int8)
    return emd_cnn.Pairs(a, b, emd_batch(a, b), kind)


def joined(parts: list[emd_cnn.Pairs]) -> emd_cnn.Pairs:
    """One set of pairs from several."""
    return emd_cnn.Pairs(
        *(np.concatenate([getattr(p, name) for p in parts]) for name in ("a", "b", "emd", "kind"))
    )
