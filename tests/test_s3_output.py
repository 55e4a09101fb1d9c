"""The full default recipe with its output on s3:// (moto's S3 server on 127.0.0.1): committed parts, dedup
work files, token shards and reports all land in the bucket, and the counts equal a local run's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.ray


@pytest.fixture
def s3_env():
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{server._server.server_port}",
        AWS_EC2_METADATA_DISABLED="true",
    )
    try:
        yield env
    finally:
        server.stop()


def test_full_recipe_writes_its_output_to_s3(s3_env, tmp_path):
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=s3_env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    s3.create_bucket(Bucket="runs")
    cmd = [sys.executable, "-m", "pipeline", "run", "stages.yaml", "--output", "s3://runs/cc-1"]
    result = subprocess.run(cmd, cwd=ROOT, env=s3_env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(s3.get_object(Bucket="runs", Key="cc-1/report.json")["Body"].read())
    assert report["conservation"]["ok"]
    assert report["totals"]["records_read"] == 29 and report["totals"]["kept"] == 15
    manifest = json.loads(s3.get_object(Bucket="runs", Key="cc-1/tokens/manifest.json")["Body"].read())
    keys = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="runs") for o in page["Contents"]}
    assert {f"cc-1/{s['path'].replace('shards/', 'tokens/shards/')}" for s in manifest["shards"]} <= keys
    assert not [k for k in keys if ".tmp-" in k], "temporary objects left behind"
    verify = subprocess.run(
        [sys.executable, "-m", "pipeline", "tokens", "verify", "s3://runs/cc-1"],
        cwd=ROOT,
        env=s3_env,
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
