"""Atomic writes: build output under a temporary name in the target folder, then rename.

Readers of a path therefore see either the previous complete output or the new complete output,
never a partial one (the project-wide rule from DESIGN.md, "Writes are atomic").
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cropglobe.errors import CropGlobeError

#: This machine, in temporary names: a process of another host sharing the folder is never judged gone.
_HOST = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]
#: ``.<name>.<tmp|old>-<host>-<pid>-<random>``: an output being written, or a previous output moved aside.
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<host>[0-9a-f]{6})-(?P<pid>\d+)-[0-9a-f]{8}$")
#: Folders whose stale temporary entries this process has dealt with (a folder is listed once per process).
_SWEPT: set[Path] = set()


def _temp_sibling(path: Path, kind: str = "tmp") -> Path:
    return path.parent / f".{path.name}.{kind}-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _process_gone(pid: int) -> bool:
    """True when no process ``pid`` runs on this machine (one of another user's counts as running)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it exists, owned by someone else
        return False
    return False


def recover_leftovers(folder: str | os.PathLike) -> list[Path]:
    """Deal with what killed writers (kill -9, power loss) left in ``folder``; return the paths removed or restored.

    Only entries named by :func:`atomic_path` on this machine whose process is gone are touched:

    * ``.<name>.old-...``: a previous output moved aside. When ``<name>`` is missing, the writer was
      killed between its two renames: the previous output is put back at ``<name>``. Otherwise the
      new output was in place already and the old one is removed.
    * ``.<name>.tmp-...``: an output that was never finished; removed.

    Entries of running processes, of other machines, and of any other name are left alone.

    Args:
        folder: The folder to look in.

    Returns:
        The paths restored (the final path) or removed (the temporary one).
    """
    p = Path(folder)
    try:
        entries = [e.name for e in os.scandir(p) if e.name.startswith(".")]
    except OSError:
        return []
    touched: list[Path] = []
    stale = []
    for name in entries:
        m = _TEMP_NAME.match(name)
        if m and m["host"] == _HOST and int(m["pid"]) != os.getpid() and _process_gone(int(m["pid"])):
            stale.append((m, p / name))
    def order(item: tuple[re.Match[str], Path]) -> tuple[bool, float]:  # backups first, the newest first
        try:
            mtime = item[1].lstat().st_mtime
        except OSError:
            mtime = 0.0
        return item[0]["kind"] != "old", -mtime

    for m, path in sorted(stale, key=order):
        final = p / m["name"]
        if m["kind"] == "old" and not (final.exists() or final.is_symlink()):
            try:
                os.replace(path, final)
            except OSError:
                continue
            touched.append(final)
        else:
            _remove(path)
            touched.append(path)
    return touched


def _sweep_once(folder: Path) -> None:
    key = folder.resolve()
    if key not in _SWEPT:
        recover_leftovers(folder)
        _SWEPT.add(key)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling path to write a file or folder to; move it to ``path`` on success.

    On an exception the temporary output is removed and ``path`` is left untouched. Whatever exists
    at ``path`` is replaced only after success (moved aside first, then deleted); callers that
    write where a user's data may be check :func:`check_replaceable` first. Temporary names carry
    this machine and process (``.<name>.tmp-<host>-<pid>-<random>``, a previous output moved aside
    ``.<name>.old-...``), so what a killed writer left behind is recognised: the first write into a
    folder in a process restores or removes it (:func:`recover_leftovers`). An ``OSError`` without a
    path (a write on a full disk, say) is given ``path`` as its ``filename``, so its message names it.

    Args:
        path: The final file or folder path.

    Yields:
        The temporary path to write to (it does not exist yet).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(final.parent)
    tmp = _temp_sibling(final)
    try:
        yield tmp
        if final.exists() and not final.is_symlink() and (final.is_dir() or tmp.is_dir()):
            old = _temp_sibling(final, "old")
            os.replace(final, old)
            try:
                os.replace(tmp, final)
            except BaseException:
                os.replace(old, final)  # put the previous output back
                raise
            _remove(old)
        else:
            os.replace(tmp, final)
    except BaseException as err:
        _remove(tmp)
        if isinstance(err, OSError) and not err.filename:  # a write that failed (disk full ...) names no path
            err.filename = str(final)
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
