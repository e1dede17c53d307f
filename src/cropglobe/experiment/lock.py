"""One writer per run folder: an exclusive, non-blocking ``flock`` on ``RUN_DIR/.cropglobe.lock``.

Two ``cropglobe transfer`` (or ``demo``) processes pointed at the same folder would otherwise
interleave their cells, and the folder's ``config.yaml`` would no longer describe its
``results.parquet``. The lock is released by the kernel when the process ends, however it ends,
so a crashed run never leaves a stale lock behind (the empty lock file may stay; it is harmless).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cropglobe.cells.run_folder import RunFolder
from cropglobe.errors import CropGlobeError

LOCK_NAME = ".cropglobe.lock"


@contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold the exclusive lock of ``folder`` (created if needed) for the duration of the block.

    Args:
        folder: The run (or demo) folder.

    Yields:
        The lock file's path.

    Raises:
        CropGlobeError: At once, when another process holds the lock.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOCK_NAME
        fh = open(path, "a+", encoding="utf-8")  # held open for the whole block
    except OSError as err:
        raise CropGlobeError(f"{folder}: cannot create the run folder's lock file ({err.strerror}); "
                             "expected a writable folder") from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            owner = fh.read().strip() or "unknown"
            raise CropGlobeError(f"{folder}: is in use by another cropglobe process (pid {owner}, lock {path}); "
                                 "wait for it to finish or choose another --out") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield path
        finally:
            fh.truncate(0)
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()


def is_run_folder(path: Path) -> bool:
    """True for a folder of ``cropglobe transfer`` (its ``config.yaml``) or one holding only a lock file."""
    if RunFolder(path).config_path.is_file():
        return True
    return path.is_dir() and {p.name for p in path.iterdir()} <= {LOCK_NAME}
