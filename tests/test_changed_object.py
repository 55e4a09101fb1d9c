"""Inputs on s3:// (moto's S3 server on 127.0.0.1, behind tests/servers.py's FlakyS3Proxy) replaced by a new
version in the middle of a read: the read fails with ObjectChanged and nothing is committed, rather than the
new version's bytes being spliced onto the old one's. An object that did not change resumes as before.

s3fs reads in large ranged GETs (the first covers what the reader asked for plus `OBJECT_BLOCK_BYTES`), each
conditional on the ETag the file was opened with (`IfMatch`). The test object is a WARC whose first record is
a large metadata record, so that a second GET starts inside the documents after it; that GET is cut and the
object replaced. Each read runs in a subprocess, as the pipeline's workers do."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys

import pytest

from core.storage import OBJECT_BLOCK_BYTES
from tests.conftest import FIXTURES, ROOT
from tests.servers import Fault, FlakyS3Proxy, members_reversed
from tests.test_s3_output import MotoS3

BUCKET, KEY = "inputs", "segment/big.warc.gz"
PATH, URL = f"/{BUCKET}/{KEY}", f"s3://{BUCKET}/{KEY}"
COPIES = 4  # copies of mixed.warc.gz after the padding record: 15 records, 7 kept, each
READ_ONE_FILE = """
import json, sys
from pipeline.config import load
from pipeline.filepass import process_file
config = load("stages.yaml").with_overrides(output=sys.argv[1], io_retry_delay_s=0.1)
try:
    print(json.dumps(process_file(0, sys.argv[2], config)))
except Exception as e:
    print(json.dumps({"exception": type(e).__name__, "message": str(e)}))
"""


@pytest.fixture
def s3():
    pytest.importorskip("moto.server")
    server = MotoS3()
    client = server.client()
    client.create_bucket(Bucket=BUCKET)
    put = lambda path, data: client.put_object(Bucket=BUCKET, Key=path.split("/", 2)[2], Body=data)  # noqa: E731
    proxy = FlakyS3Proxy(server.port, put)
    yield server, client, proxy
    proxy.stop()
    server.server.stop()


def _padding_record(size: int) -> bytes:
    """A gzip member holding one WARC metadata record of `size` incompressible bytes (not a document)."""
    payload = random.Random(0).randbytes(size)
    head = (
        "WARC/1.0\r\nWARC-Type: metadata\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
        f"WARC-Date: 2024-01-01T00:00:00Z\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
    )
    return gzip.compress(head.encode() + payload + b"\r\n\r\n", compresslevel=1)


def _versions() -> tuple[bytes, bytes]:
    """The object and its new version (same size): padding past the first GET, then the documents."""
    padding = _padding_record((1 << 20) + OBJECT_BLOCK_BYTES - (64 << 10))
    mixed = (FIXTURES / "warc" / "mixed.warc.gz").read_bytes()
    return padding + mixed * COPIES, padding + members_reversed(mixed) * COPIES


def _read_one(server: MotoS3, proxy: FlakyS3Proxy, tmp_path) -> dict:
    env = dict(server.env, AWS_ENDPOINT_URL=proxy.url)
    command = [sys.executable, "-c", READ_ONE_FILE, str(tmp_path / "out"), URL]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_an_object_replaced_mid_read_fails_uncommitted_instead_of_being_spliced(s3, tmp_path):
    server, client, proxy = s3
    old, new = _versions()
    client.put_object(Bucket=BUCKET, Key=KEY, Body=old)
    etag = client.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    proxy.faults[PATH] = [Fault(), Fault(cut_after=4096, replace_with=new)]
    result = _read_one(server, proxy, tmp_path)
    assert result.get("exception") == "ObjectChanged", result
    new_etag = client.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    assert new_etag != etag
    assert result["message"] == (
        f"{URL} changed while it was read (ETag {etag}, now {new_etag}): not committed; "
        "run again to read the new version"
    )
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()], "something was committed"
    gets = [r for r in proxy.requests if r.path == PATH]
    assert [g.what for g in gets[:2]] == ["206", "206, cut at 4096, replaced"]
    assert {g.condition for g in gets} == {etag}  # every GET asked for the version the read started on
    assert gets[-1].what.startswith("412")  # the resume was refused: the object is another one now


def test_an_unchanged_object_resumes_after_cut_connections(s3, tmp_path):
    """Enough cuts in a row that s3fs's own retries give up and the pipeline reopens the object at the byte it
    had reached: the object is the same one, so the read goes on and the file comes out whole."""
    server, client, proxy = s3
    old, _ = _versions()
    client.put_object(Bucket=BUCKET, Key=KEY, Body=old)
    etag = client.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    proxy.faults[PATH] = [Fault()] + [Fault(cut_after=4096)] * 8
    stats = _read_one(server, proxy, tmp_path)
    assert stats.get("status") == "ok", stats
    assert stats["records_read"] == 15 * COPIES and stats["kept"] == 7 * COPIES and stats["errors"] == {}
    assert stats["record_types"]["metadata"] >= 1
    assert sum(stats["io_retries"].values()) >= 1, stats["io_retries"]  # the pipeline reopened it
    gets = [r for r in proxy.requests if r.path == PATH]
    # 9 cut connections and the one that finished, then one ranged read of the last record: the reader checks
    # that it ends where its Content-Length says (a length past the end of the file would hide the rest)
    assert not proxy.faults[PATH] and len(gets) == 11
    assert {g.condition for g in gets} == {etag}


SEEK_AFTER_A_CHANGE = """
import json, sys, boto3
from core.storage import open_input
url, moto_url, bucket, key = sys.argv[1:5]
raw = open_input(url).raw  # the ResumableInput under the buffer
out = {"first": raw.read(100).hex()}
raw.seek(5000)  # a seek reconnects, as a resume does
out["unchanged"] = raw.read(100).hex()
boto3.client("s3", endpoint_url=moto_url).put_object(Bucket=bucket, Key=key, Body=b"a new version")
raw.seek(20000)
for attempt in ("after", "again"):
    try:
        out[attempt] = raw.read(100).hex()
    except Exception as e:
        out[attempt] = f"{type(e).__name__}: {e}"
print(json.dumps(out))
"""


def test_a_seek_reopens_only_the_version_the_read_started_on(s3):
    server, client, _ = s3
    data = (FIXTURES / "warc" / "mixed.warc.gz").read_bytes()
    client.put_object(Bucket=BUCKET, Key=KEY, Body=data)
    etag = client.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    command = [sys.executable, "-c", SEEK_AFTER_A_CHANGE, URL, server.env["AWS_ENDPOINT_URL"], BUCKET, KEY]
    done = subprocess.run(command, cwd=ROOT, env=server.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["first"] == data[:100].hex() and out["unchanged"] == data[5000:5100].hex()
    new_etag = client.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    expected = f"ObjectChanged: {URL} changed while it was read (ETag {etag}, now {new_etag}): not committed"
    assert out["after"].startswith(expected)
    assert out["again"] == out["after"]  # it stays failed: no read goes on with the new version
