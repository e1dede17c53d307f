"""Tests for atomic writes."""

from __future__ import annotations

import pytest

from cropglobe import atomic


def test_file_and_folder_are_replaced_whole(tmp_path):
    target = tmp_path / "out.txt"
    atomic.write_text(target, "one")
    atomic.write_text(target, "two")
    assert target.read_text() == "two"
    folder = tmp_path / "store"
    with atomic.atomic_path(folder) as tmp:
        tmp.mkdir()
        (tmp / "a").write_text("1")
    with atomic.atomic_path(folder) as tmp:
        tmp.mkdir()
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in folder.iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt", "store"]


def test_failure_leaves_previous_output(tmp_path):
    target = tmp_path / "out.txt"
    atomic.write_text(target, "good")
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
