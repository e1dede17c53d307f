"""Fixtures of the acquisition tests: a generated STAC scene and a flaky local HTTP server."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from tests.sources.acquire import scene


@pytest.fixture(scope="session")
def scene_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated scene: ``stac/catalog.json`` (6 items x 11 COGs) and ``cdl.tif``."""
    root = tmp_path_factory.mktemp("scene")
    scene.write_catalog(root / "stac")
    scene.write_label_map(root / "cdl.tif")
    return root


@pytest.fixture
def scene_copy(scene_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the scene (for tests that delete files)."""
    dest = tmp_path / "scene"
    shutil.copytree(scene_dir, dest)
    return dest


class FlakyServer:
    """Serve a folder on 127.0.0.1 with byte ranges; every ``fail_every``-th request gets HTTP 503.

    A request that failed once (the same method, path and byte range) succeeds when it is repeated:
    with a global counter alone, threads retrying after the same delay can fall into lockstep so that
    one thread's retries keep landing on the failing turn until its retries run out.
    """

    def __init__(self, root: Path, fail_every: int = 3) -> None:
        self.root, self.fail_every = root, fail_every
        self.requests = 0
        self.failures = 0
        self.paths: list[str] = []
        self.failed: set[tuple[str, str, str]] = set()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                key = (self.command, self.path, self.headers.get("Range") or "")
                with server.lock:
                    server.requests += 1
                    fail = server.requests % server.fail_every == 0 and key not in server.failed
                    if fail:
                        server.failed.add(key)
                    server.failures += fail
                    server.paths.append(self.path)
                if fail:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path = server.root / unquote(urlparse(self.path).path).lstrip("/")
                if not path.is_file():
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = path.read_bytes()
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    a, _, b = rng[6:].partition("-")
                    start, end = int(a), min(int(b) if b else len(data) - 1, len(data) - 1)
                    body = data[start:end + 1]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                else:
                    body = data
                    self.send_response(200)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/json" if path.suffix == ".json" else "image/tiff")
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FlakyServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def flaky_server(scene_dir: Path) -> Iterator[FlakyServer]:
    """The scene served over HTTP from 127.0.0.1 (random free port), failing every 3rd request."""
    with FlakyServer(scene_dir, fail_every=3) as srv:
        yield srv
