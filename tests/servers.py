"""Real servers on 127.0.0.1 for the remote-input tests: HTTPS with Range support (RangeHTTPServer) and a
self-signed certificate, whose GETs can be made to fail on cue: a 503, a connection cut mid-body, or the
whole server going down for a while and coming back on the same port (a restart)."""

from __future__ import annotations

import collections
import functools
import http.server
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from RangeHTTPServer import RangeRequestHandler


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1, made with the openssl command line (valid one day)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)]
        + ["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass
class Fault:
    """What the next GET of a path gets: `status` (e.g. 503) instead of the file, or the body cut after
    `cut_after` bytes, then (with `down_s`) the server closed for that many seconds and started again."""

    status: int | None = None
    cut_after: int | None = None
    down_s: float = 0.0


@dataclass
class FlakyHTTPS:
    """Serves `root` over HTTPS on 127.0.0.1; `faults[path]` lists what successive GETs of `path` get (then the
    file, normally). `requests` records (path, Range header, what was done) in order."""

    root: Path
    cert: Path
    key: Path
    faults: dict[str, list[Fault]] = field(default_factory=lambda: collections.defaultdict(list))
    requests: list[tuple[str, str | None, str]] = field(default_factory=list)
    port: int = 0
    honor_range: bool = True  # False: answer every GET with the whole file (200), as some servers do

    def __post_init__(self):
        self._lock = threading.Lock()
        self._server = None
        self.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> None:
        handler = functools.partial(_FlakyHandler, self, directory=str(self.root))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def restart_after(self, down_s: float) -> None:
        """Close the listening socket (new connections are refused), then listen again on the same port."""

        def restart():
            self.stop()
            time.sleep(down_s)
            self.start()

        threading.Thread(target=restart, daemon=True).start()

    def next_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(path)
            return queue.pop(0) if queue else None

    def record(self, path: str, range_header: str | None, what: str) -> None:
        with self._lock:
            self.requests.append((path, range_header, what))


class _FlakyHandler(RangeRequestHandler):
    def __init__(self, server_state: FlakyHTTPS, *args, **kwargs):
        self.state = server_state
        super().__init__(*args, **kwargs)

    def log_message(self, *args):
        pass

    def do_GET(self):
        fault = self.state.next_fault(self.path)
        range_header = self.headers.get("Range")
        if fault and fault.status:
            self.state.record(self.path, range_header, str(fault.status))
            self.send_error(fault.status)
            return
        self.fault = fault
        self.state.record(self.path, range_header, f"cut at {fault.cut_after}" if fault else "ok")
        if not self.state.honor_range:
            del self.headers["Range"]
        super().do_GET()

    def copyfile(self, source, outputfile):
        fault = getattr(self, "fault", None)
        if not (fault and fault.cut_after):
            return super().copyfile(source, outputfile)
        if self.range:
            source.seek(self.range[0])
        outputfile.write(source.read(fault.cut_after))
        outputfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)  # the client sees the body end before Content-Length
        self.close_connection = True
        if fault.down_s:
            self.state.restart_after(fault.down_s)
