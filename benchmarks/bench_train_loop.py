"""Training loop throughput: Lightning fit with data loading + on-the-fly augmentation vs bare steps."""

from __future__ import annotations

import tempfile
import time

NAME = "train-loop"
DESCRIPTION = (
    "full Lightning training loop (loader + paper augmentation + step) vs bare model steps (ratio of samples/s)"
)


def run(quick: bool = False) -> dict:
    """Time one training epoch through ``cropglobe.training.lightning.fit_torch`` against bare optimiser steps."""
    import lightning as L
    import numpy as np
    import torch

    from cropglobe import augment, models
    from cropglobe.training import lightning as train

    name = "cropnet-lite"
    batch, n_batches = (16, 2) if quick else (256, 12)
    bands, t_full, window = 10, 73, (24, 43)
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 0.5, (batch * n_batches, bands, t_full)).astype(np.float32)
    y = rng.integers(0, 7, batch * n_batches)

    # reference: bare forward + backward + Adam step on ready-made windowed batches
    net = models.get_model(name, bands, window[1], 7, seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    xb = torch.as_tensor(x[:batch, :, window[0]:window[0] + window[1]])
    yb = torch.as_tensor(y[:batch])
    weights = train.class_weights(y, 7)
    net.train()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(xb), yb, weight=weights).backward()
        opt.step()

    step()  # warm-up
    step()
    rounds = []
    for _ in range(1 if quick else 3):
        t0 = time.perf_counter()
        for _ in range(n_batches):
            step()
        rounds.append(time.perf_counter() - t0)
    bare = batch * n_batches / min(rounds)

    # full loop: Lightning fit over the same number of batches, loader + augmentation included
    settings = train.TrainSettings(epochs=2 if quick else 4, batch_size=batch, lr=1e-4, progress=False)
    timer = _EpochTimer(L)
    settings.callbacks = [timer]
    with tempfile.TemporaryDirectory() as tmp:
        train.fit_torch(models.get_model(name, bands, window[1], 7, seed=0), train.FitData(x, y, x[:batch], y[:batch]),
                        7, settings, tmp, train.InputLayout(window, 5.0), augment=augment.get_preset("paper"))
    full = batch * n_batches / min(timer.seconds[1:])  # warm epochs only
    return {
        "ratio": full / bare,
        "reference": f"bare forward+backward+Adam steps of {name} on ready batches (same batch size, same run)",
        "figures": {"model": name, "batch": batch, "batches": n_batches, "bare_samples_per_s": round(bare, 1),
                    "loop_samples_per_s": round(full, 1), "augmentation": "paper (p=0.5 each)",
                    "torch_threads": torch.get_num_threads()},
    }


class _EpochTimer:
    """Lightning callback: wall time from epoch start to its last training batch (loading + augmentation + steps)."""

    def __new__(cls, L):  # build a Callback subclass lazily
        class Timer(L.Callback):
            def __init__(self) -> None:
                self.seconds: list[float] = []

            def on_train_epoch_start(self, trainer, module) -> None:
                self._t = time.perf_counter()

            def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
                if batch_idx == trainer.num_training_batches - 1:  # training part only, no validation
                    self.seconds.append(time.perf_counter() - self._t)

        return Timer()
