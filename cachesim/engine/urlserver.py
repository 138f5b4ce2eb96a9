"""Serving a scenario's ``ADD https://...`` downloads to the real engine, from 127.0.0.1.

No network is reachable from here, and a check must not depend on one. The daemon fetches
ADD URLs itself (BuildKit's http source, the classic builder's download), outside the
build's ``--network=none``, so it can reach a server on the loopback address. Each build's
Dockerfile gets its ADD URLs rewritten to ``http://127.0.0.1:PORT/N/NAME``, serving what
the scenario says the URL serves at that build, and the engine's log gets the original URLs
back before it is read.

Why the rewrite changes nothing the cache sees (seen on Docker 20.10 and 28.5, both
builders, scenario add-url): an ADD of a URL is keyed by the downloaded content and the
file's name, not by the URL (a mirror with the same bytes stays cached). The rewritten URL
keeps the file name (NAME is the original path's last part), one URL always maps to the
same local address within a run, and the replacement stays on its line, so line numbers
and the Dockerfile's shape are kept. The server sends no ``Last-Modified`` or ``ETag``;
neither changes the key when the content is the same (a new Last-Modified was tried).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dockerfile as _bk_parser

from cachesim.context.downloads import download_name, is_url
from cachesim.context.workspace import BuildRequest


def add_urls(dockerfile: str) -> list[tuple[int, str]]:
    """(line, URL) of every URL an ADD instruction names, in order."""
    try:
        commands = _bk_parser.parse_string(dockerfile)
    except _bk_parser.GoParseError:
        return []
    found = []
    for cmd in commands:
        if (cmd.cmd or "").upper() == "ADD":
            found += [(cmd.start_line, v) for v in cmd.value[:-1] if is_url(v)]
    return found


@dataclass
class UrlServer:
    """A loopback HTTP server whose files change from build to build."""

    port: int = 0
    files: dict[str, bytes] = field(default_factory=dict)  # local path -> bytes
    local: dict[str, str] = field(default_factory=dict)  # original URL -> local URL

    def address(self, url: str) -> str:
        if url not in self.local:
            path = f"/{len(self.local)}/{download_name(url)}"
            self.local[url] = f"http://127.0.0.1:{self.port}{path}"
        return self.local[url]

    def publish(self, request: BuildRequest) -> BuildRequest:
        """Serve the request's downloads; return it with its Dockerfile's ADD URLs local."""
        lines = request.dockerfile.split("\n")
        for number, url in add_urls(request.dockerfile):
            local = self.address(url)
            self.files[local.split(str(self.port), 1)[1]] = request.download(url)
            for i in range(number - 1, len(lines)):  # the URL may sit on a continuation line
                if url in lines[i]:
                    lines[i] = lines[i].replace(url, local)
                    break
        return replace(request, dockerfile="\n".join(lines))

    def restore(self, log: str) -> str:
        """The engine's log with the original URLs back in place of the local ones."""
        for url, local in sorted(self.local.items(), key=lambda kv: -len(kv[1])):
            log = log.replace(local, url)
        return log


@contextlib.contextmanager
def serving() -> Iterator[UrlServer]:
    """A ``UrlServer`` running on 127.0.0.1 (a free port) until the block ends."""
    state = UrlServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, body: bool) -> None:
            data = state.files.get(self.path.split("?", 1)[0])
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the engine's log says what was fetched."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
