"""Inputs over https:// (a local server), s3:// (moto's S3 server) and a CommonCrawl warc.paths.gz list,
all on 127.0.0.1. The same fixture files give the same counts as when read from disk."""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import threading

import pytest

from pipeline.config import load
from pipeline.filepass import process_file
from pipeline.inputs import expand_inputs
from tests.conftest import FIXTURES, ROOT

MIXED = dict(records_read=15, kept=7)


@pytest.fixture
def http_root(tmp_path):
    """A plain HTTP server over a folder holding the fixtures and a warc.paths.gz list."""
    root = tmp_path / "www"
    (root / "crawl-data").mkdir(parents=True)
    (root / "crawl-data" / "mixed.warc.gz").write_bytes((FIXTURES / "warc" / "mixed.warc.gz").read_bytes())
    (root / "crawl-data" / "plain.warc").write_bytes((FIXTURES / "warc" / "plain.warc").read_bytes())
    with gzip.open(root / "warc.paths.gz", "wt") as f:
        f.write("crawl-data/mixed.warc.gz\ncrawl-data/plain.warc\n")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _config(tmp_path, **overrides):
    out = tmp_path / "out"
    for sub in ("docs", "dropped", "stats"):
        os.makedirs(out / sub, exist_ok=True)
    return load(ROOT / "stages.yaml").with_overrides(output=str(out), **overrides)


def test_reads_a_warc_over_http(http_root, tmp_path):
    _, base = http_root
    stats = process_file(0, f"{base}/crawl-data/mixed.warc.gz", _config(tmp_path))
    assert {k: stats[k] for k in MIXED} == MIXED


def test_paths_list_entries_resolve_against_the_base_url(http_root, tmp_path):
    root, base = http_root
    config = _config(tmp_path, input=(str(root / "warc.paths.gz"),), paths_base_url=base + "/")
    files = expand_inputs(config.options.input, config.options.paths_base_url)
    assert files == [f"{base}/crawl-data/mixed.warc.gz", f"{base}/crawl-data/plain.warc"]
    kept = [process_file(i, f, config)["kept"] for i, f in enumerate(files)]
    assert kept == [7, 2]


@pytest.fixture
def s3_bucket(monkeypatch):
    """moto's S3 server on 127.0.0.1 with a bucket `crawl` holding two WARCs and a warc.paths.gz list."""
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    for key, value in dict(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{server._server.server_port}",
        AWS_EC2_METADATA_DISABLED="true",
    ).items():
        monkeypatch.setenv(key, value)
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="crawl")
    s3.upload_file(str(FIXTURES / "warc" / "mixed.warc.gz"), "crawl", "segment/a.warc.gz")
    s3.upload_file(str(FIXTURES / "warc" / "truncated.warc.gz"), "crawl", "segment/b.warc.gz")
    s3.put_object(Bucket="crawl", Key="warc.paths.gz", Body=gzip.compress(b"segment/b.warc.gz\nsegment/a.warc.gz\n"))
    s3fs = pytest.importorskip("s3fs")
    s3fs.S3FileSystem.clear_instance_cache()  # a cached client would still point at an earlier test's server
    yield s3
    server.stop()
    s3fs.S3FileSystem.clear_instance_cache()


def test_reads_warcs_from_s3_by_glob(s3_bucket, tmp_path):
    config = _config(tmp_path, input=("s3://crawl/segment/*.warc.gz",))
    files = expand_inputs(config.options.input, config.options.paths_base_url)
    assert files == ["s3://crawl/segment/a.warc.gz", "s3://crawl/segment/b.warc.gz"]
    results = [process_file(i, f, config) for i, f in enumerate(files)]
    assert [(r["records_read"], r["kept"], r["errors"]) for r in results] == [
        (15, 7, {}),
        (4, 3, {"read.truncated": 1}),
    ]


def test_a_paths_list_in_s3_resolves_against_an_s3_base(s3_bucket, tmp_path):
    config = _config(tmp_path, input=("s3://crawl/warc.paths.gz",), paths_base_url="s3://crawl/")
    files = expand_inputs(config.options.input, config.options.paths_base_url)
    assert files == ["s3://crawl/segment/a.warc.gz", "s3://crawl/segment/b.warc.gz"]  # sorted: ids are stable


def test_a_missing_s3_object_is_an_error_of_that_file_only(s3_bucket, tmp_path):
    stats = process_file(0, "s3://crawl/segment/missing.warc.gz", _config(tmp_path))
    assert stats["status"] == "error" and "cannot read: FileNotFoundError" in stats["message"]
    assert stats["records_read"] == 0 and stats["io_retries"] == {}
