"""Usage errors print a usage line and exit 2 without a traceback; help and --version exit 0."""

from __future__ import annotations

import errno
import subprocess
import sys

import pytest

from cropglobe.cli import main, os_error_message


def _main(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.mark.parametrize("argv, expected", [
    (["info", "--bogus"], "No such option: --bogus"),
    (["infoo", "x.zarr"], "No such command 'infoo'"),
    (["simulate", "--out", "x.zarr", "-n", "abc"], "Invalid value for '--samples-per-class'"),
    (["simulate"], "Missing option '--out'"),
    (["import", "table", "--mapping"], "requires an argument"),
])
def test_usage_errors_exit_2_with_a_usage_line(capsys, argv, expected):
    code, out, err = _main(capsys, *argv)
    assert code == 2
    assert "Usage: cropglobe" in err and expected in err
    assert "Traceback" not in err + out


@pytest.mark.parametrize("argv", [["-h"], ["--help"], ["info", "-h"], ["import", "table", "-h"], ["emit", "-h"]])
def test_help_exits_0(capsys, argv):
    code, out, _ = _main(capsys, *argv)
    assert code == 0 and "Usage: cropglobe" in out


def test_version_exits_0(capsys):
    code, out, _ = _main(capsys, "--version")
    assert code == 0 and out.startswith("cropglobe ")


def test_console_script_reports_usage_errors_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "from cropglobe.cli import main; main()", "info", "--bogus"],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert proc.returncode == 2
    assert "No such option: --bogus" in proc.stderr and "Traceback" not in proc.stderr


def test_os_errors_are_one_line_with_exit_2(capsys, monkeypatch):
    from cropglobe import samples

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/sim.zarr")

    monkeypatch.setattr(samples, "save", full_disk)
    code, _, err = _main(capsys, "simulate", "--out", "/data/sim.zarr", "-n", "2", "-c", "FRA")
    assert code == 2
    assert err.startswith("error: /data/sim.zarr: No space left on device; free disk space")
    assert len(err.strip().splitlines()) == 1


def test_os_error_messages_name_the_path_and_what_to_do():
    msg = os_error_message(OSError(errno.EROFS, "Read-only file system", "/mnt/ro/out.zarr"))
    assert msg == "/mnt/ro/out.zarr: Read-only file system; the file system is read-only: choose a writable --out"
    assert "(no path given)" in os_error_message(OSError(errno.EIO, "I/O error"))
