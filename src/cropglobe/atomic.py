"""Atomic writes: build output under a temporary name in the target folder, then rename.

Readers of a path therefore see either the previous complete output or the new complete output,
never a partial one (the project-wide rule from DESIGN.md, "Writes are atomic").
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _temp_sibling(path: Path) -> Path:
    return path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling path to write a file or folder to; move it to ``path`` on success.

    On an exception the temporary output is removed and ``path`` is left untouched. An existing
    folder at ``path`` is replaced (moved aside first, then deleted).

    Args:
        path: The final file or folder path.

    Yields:
        The temporary path to write to (it does not exist yet).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_sibling(final)
    try:
        yield tmp
        if final.is_dir() and not final.is_symlink():
            old = _temp_sibling(final)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a text file atomically and return its path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
