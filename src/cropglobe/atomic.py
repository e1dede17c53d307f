"""Atomic writes: build output under a temporary name in the target folder, then rename.

Readers of a path therefore see either the previous complete output or the new complete output,
never a partial one (the project-wide rule from DESIGN.md, "Writes are atomic").
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cropglobe.errors import CropGlobeError


def _temp_sibling(path: Path) -> Path:
    return path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling path to write a file or folder to; move it to ``path`` on success.

    On an exception the temporary output is removed and ``path`` is left untouched. Whatever exists
    at ``path`` is replaced only after success (moved aside first, then deleted); callers that
    write where a user's data may be check :func:`check_replaceable` first.

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
        if final.exists() and not final.is_symlink() and (final.is_dir() or tmp.is_dir()):
            old = _temp_sibling(final)
            os.replace(final, old)
            try:
                os.replace(tmp, final)
            except BaseException:
                os.replace(old, final)  # put the previous output back
                raise
            _remove(old)
        else:
            os.replace(tmp, final)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def is_cropglobe_zarr(path: str | os.PathLike) -> bool:
    """True when ``path`` is a Zarr store written by cropglobe (a SampleSet, feature table or cube).

    Such stores are Zarr v2 groups whose root attributes carry the ``simulated`` flag every
    cropglobe writer records.
    """
    p = Path(path)
    try:
        attrs = json.loads((p / ".zattrs").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (p / ".zgroup").is_file() and isinstance(attrs, dict) and "simulated" in attrs


def check_replaceable(path: str | os.PathLike, kind: str, is_previous: Callable[[Path], bool],
                      overwrite: bool = False, option: str = "--out",
                      remedy: str = "choose a new path, or pass --overwrite to replace it",
                      follow_links: bool = False) -> None:
    """Refuse to replace something at ``path`` that is not a previous output of the same kind.

    Nothing is checked when ``path`` does not exist, is an empty folder, or ``overwrite`` is set.
    A symbolic link is never a previous output when the output replaces ``path`` itself
    (:func:`atomic_path` would replace the link, not its target); commands that write *into* a
    folder at ``path`` pass ``follow_links=True``.

    Args:
        path: Where the output will be written.
        kind: What the output is, for the message (``"cropglobe SampleSet (Zarr)"``, say).
        is_previous: Recognises a previous output of this kind.
        overwrite: The user asked to replace whatever is there.
        option: The command-line option that named ``path``.
        remedy: What the user can do about it, for the message.
        follow_links: The output is written into the folder ``path`` links to (not replacing ``path``).

    Raises:
        CropGlobeError: When ``path`` holds a file or folder of anything else.
    """
    p = Path(path)
    if overwrite or not (p.exists() or p.is_symlink()):
        return
    if p.is_symlink() and not follow_links:
        raise CropGlobeError(f"{option} {p}: is a symbolic link; writing there would replace the link with the "
                             f"output; refusing to replace it: {remedy}")
    if p.is_dir() and not any(p.iterdir()):
        return
    if is_previous(p):
        return
    what = "a folder" if p.is_dir() else "a file"
    raise CropGlobeError(f"{option} {p}: already exists and is {what} that is not a previous {kind}; "
                         f"refusing to replace it: {remedy}")


@contextmanager
def guarded_path(path: str | os.PathLike, kind: str, is_previous: Callable[[Path], bool], overwrite: bool = False,
                 option: str = "--out") -> Iterator[Path]:
    """:func:`atomic_path` for a path a user named: :func:`check_replaceable` first, then the atomic write.

    The one writer for user-given paths that are replaced whole (files, stores). Commands call
    :func:`check_replaceable` once more before any work, so a refusal comes first; the check here
    guards the moment of writing (tests/reliability/test_guarded_writes.py holds every command to it).

    Args:
        path: The final file or folder path.
        kind: What the output is, for the message.
        is_previous: Recognises a previous output of this kind.
        overwrite: The user asked to replace whatever is there.
        option: The command-line option that named ``path``.

    Yields:
        The temporary path to write to (it does not exist yet).
    """
    check_replaceable(path, kind, is_previous, overwrite, option)
    with atomic_path(path) as tmp:
        yield tmp


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a text file atomically and return its path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
