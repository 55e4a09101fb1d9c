"""Real servers on 127.0.0.1 for the remote-input tests: HTTPS with Range support (RangeHTTPServer) and a
self-signed certificate, whose GETs can be made to fail on cue: a 503, a connection cut mid-body, or the
whole server going down for a while and coming back on the same port (a restart); the file can be replaced by
a new version at the cut, before the client can resume. `FlakyS3Proxy` does the same to the GETs of an S3
server (moto) that it stands in front of."""

from __future__ import annotations

import collections
import functools
import http.client
import http.server
import os
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

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
    `cut_after` bytes, then (with `down_s`) the server closed for that many seconds and started again. With
    `replace_with`, the file is replaced by those bytes (a new version) after the cut bytes were sent and before
    the connection is cut, so before any resume. `Fault()` is a GET served normally."""

    status: int | None = None
    cut_after: int | None = None
    down_s: float = 0.0
    replace_with: bytes | None = None


class Request(NamedTuple):
    """One GET as a server saw it: its Range and If-Range (HTTPS) or If-Match (S3) headers, and what it got."""

    path: str
    range: str | None
    what: str
    condition: str | None = None


@dataclass
class FlakyHTTPS:
    """Serves `root` over HTTPS on 127.0.0.1; `faults[path]` lists what successive GETs of `path` get (then the
    file, normally). `requests` records each GET (`Request`: path, Range, what was done, If-Range) in order.

    Like nginx or S3, it sends a strong ETag (from the file's inode, mtime and size) and Last-Modified, and
    answers a Range request whose `If-Range` no longer matches with the whole current file (200). With
    `etags=False, honor_if_range=False` it is plain RangeHTTPServer: Last-Modified only, If-Range ignored."""

    root: Path
    cert: Path
    key: Path
    faults: dict[str, list[Fault]] = field(default_factory=lambda: collections.defaultdict(list))
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    honor_range: bool = True  # False: answer every GET with the whole file (200), as some servers do
    etags: bool = True
    honor_if_range: bool = True

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

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def etag_of(path: str) -> str:
    """A strong ETag, as nginx makes one (mtime and size), with the inode: a replaced file gets a new one."""
    st = os.stat(path)
    return f'"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"'


def replace_file(path: str, data: bytes) -> None:
    """Replace `path` by a new version at once (a rename over it), dated a minute later than the old one so that
    its Last-Modified (whole seconds) differs too."""
    old = os.stat(path)
    new = f"{path}.next"
    Path(new).write_bytes(data)
    os.utime(new, ns=(old.st_atime_ns, old.st_mtime_ns + 60 * 10**9))
    os.replace(new, path)


def members_reversed(data: bytes) -> bytes:
    """The same WARC records (one gzip member each) in the opposite order: a new version of the same size."""
    members, position = [], 0
    while position < len(data):
        inflate = zlib.decompressobj(wbits=31)
        inflate.decompress(data[position:])
        end = len(data) - len(inflate.unused_data)
        members.append(data[position:end])
        position = end
    return b"".join(reversed(members))


class _FlakyHandler(RangeRequestHandler):
    def __init__(self, server_state: FlakyHTTPS, *args, **kwargs):
        self.state = server_state
        super().__init__(*args, **kwargs)

    def log_message(self, *args):
        pass

    def do_GET(self):
        fault = self.state.next_fault(self.path)
        range_header, if_range = self.headers.get("Range"), self.headers.get("If-Range")
        if fault and fault.status:
            self.state.record(Request(self.path, range_header, str(fault.status), if_range))
            self.send_error(fault.status)
            return
        self.fault = fault
        what = f"cut at {fault.cut_after}" if fault and fault.cut_after else "ok"
        if range_header and if_range and self.state.honor_if_range and if_range not in self._validators():
            del self.headers["Range"]  # RFC 9110 13.1.5: the file changed, so the whole new one, with a 200
            what += ", If-Range stale: whole file"
        self.state.record(Request(self.path, range_header, what, if_range))
        if not self.state.honor_range:
            del self.headers["Range"]
        super().do_GET()

    def _validators(self) -> set[str]:
        path = self.translate_path(self.path)
        try:
            validators = {self.date_time_string(os.stat(path).st_mtime)}
            return validators | {etag_of(path)} if self.state.etags else validators
        except OSError:
            return set()

    def send_response(self, code, message=None):
        super().send_response(code, message)
        if code in (200, 206) and self.state.etags:
            try:
                self.send_header("ETag", etag_of(self.translate_path(self.path)))
            except OSError:
                pass

    def copyfile(self, source, outputfile):
        fault = getattr(self, "fault", None)
        if not (fault and fault.cut_after):
            return super().copyfile(source, outputfile)
        if self.range:
            source.seek(self.range[0])
        outputfile.write(source.read(fault.cut_after))
        outputfile.flush()
        if fault.replace_with is not None:
            replace_file(self.translate_path(self.path), fault.replace_with)
        self.connection.shutdown(socket.SHUT_RDWR)  # the client sees the body end before Content-Length
        self.close_connection = True
        if fault.down_s:
            self.state.restart_after(fault.down_s)


@dataclass
class FlakyS3Proxy:
    """A proxy on 127.0.0.1 in front of an S3 server (moto on `upstream_port`); S3 clients pointed at `url`
    get the server's answers, except that `faults["/bucket/key"]` lists what successive GETs of that object get
    (then normal answers): `Fault()` passes one through, `Fault(cut_after=N)` cuts its body after N bytes, and
    `replace_with` is uploaded as the object's new version (through `put(path, data)`, straight to the server)
    after those N bytes were sent and before the cut. `requests` records each GET (`Request`, with If-Match)."""

    upstream_port: int
    put: Callable[[str, bytes], None]
    faults: dict[str, list[Fault]] = field(default_factory=lambda: collections.defaultdict(list))
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_ProxyHandler, self))
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(path)
            return queue.pop(0) if queue else None

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore expects

    def __init__(self, proxy: FlakyS3Proxy, *args, **kwargs):
        self.proxy = proxy
        super().__init__(*args, **kwargs)

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._forward()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "expect")}
        upstream = http.client.HTTPConnection("127.0.0.1", self.proxy.upstream_port, timeout=60)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        path = urllib.parse.urlsplit(self.path).path
        fault = self.proxy.next_fault(path) if self.command == "GET" else None
        if self.command == "GET":
            what = str(answer.status) + (f", cut at {fault.cut_after}" if fault and fault.cut_after else "")
            what += ", replaced" if fault and fault.replace_with is not None else ""
            self.proxy.record(Request(path, self.headers.get("Range"), what, self.headers.get("If-Match")))
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        # A HEAD answer's Content-Length is the object's size, not that of its (empty) body.
        self.send_header("Content-Length", answer.getheader("Content-Length", "0") if not data else str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if not (fault and fault.cut_after is not None):
            self.wfile.write(data)
            return
        self.wfile.write(data[: fault.cut_after])
        self.wfile.flush()
        if fault.replace_with is not None:
            self.proxy.put(path, fault.replace_with)
        self.connection.shutdown(socket.SHUT_RDWR)  # the client sees the body end before Content-Length
        self.close_connection = True
