"""Run the ``cropglobe`` CLI with one stage made to wait, so a test can signal it mid-job.

Usage: ``python hold.py STAGE READY RELEASE -- cropglobe arguments``. The held stage creates the file
READY, then waits (in short sleeps, so signals are handled) until RELEASE exists or 120 s pass.
STAGE is ``composite`` (the compositing call), ``map`` (every map tile, inside a Dask worker
thread) or ``train`` (the first batch of the second epoch of every torch cell).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def _wait(ready: Path, release: Path) -> None:
    ready.touch()
    deadline = time.monotonic() + 120
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def _install(stage: str, ready: Path, release: Path) -> None:
    if stage == "composite":
        from cropglobe.temporal import composite

        real = composite.composite

        def held_composite(*args, **kwargs):
            _wait(ready, release)
            return real(*args, **kwargs)

        composite.composite = held_composite
    elif stage == "map":
        from cropglobe.mapping import tiles

        real_tile = tiles.run_tile

        def held_tile(*args, **kwargs):
            _wait(ready, release)
            return real_tile(*args, **kwargs)

        tiles.run_tile = held_tile
    elif stage == "train":
        import lightning as L

        from cropglobe import experiment

        class Hold(L.Callback):
            def on_train_batch_start(self, trainer, module, batch, batch_idx):
                if trainer.current_epoch == 1 and batch_idx == 0:
                    _wait(ready, release)

        real_run = experiment.run

        def held_run(spec, run_dir, **kwargs):
            return real_run(spec, run_dir, **{**kwargs, "callbacks": [Hold()]})

        experiment.run = held_run
    else:
        raise SystemExit(f"unknown stage {stage!r}")


if __name__ == "__main__":
    stage, ready, release, sep, *argv = sys.argv[1:]
    assert sep == "--"
    _install(stage, Path(ready), Path(release))
    from cropglobe.cli import main

    main(argv)
