"""The pipeline over every real crawl file in ../shared/data/warc: the counts add up for each file."""

from __future__ import annotations

import os

import pyarrow.parquet as pq

from core.stats import conservation_gap
from pipeline.config import load
from pipeline.filepass import process_file
from pipeline.inputs import expand_inputs
from tests.conftest import ROOT, shared_data


def _config(tmp_path, inputs):
    return load(ROOT / "stages.yaml").with_overrides(input=tuple(inputs), output=str(tmp_path / "out"))


def test_every_real_warc_file_is_accounted_for(tmp_path):
    config = _config(tmp_path, [str(shared_data("warc"))])
    files = expand_inputs(config.options.input, config.options.paths_base_url)
    assert len(files) == 16
    for sub in ("docs", "dropped", "stats"):
        os.makedirs(tmp_path / "out" / sub)
    results = [process_file(i, f, config) for i, f in enumerate(files)]
    for stats in results:
        assert conservation_gap(stats["records_read"], stats["kept"], stats["dropped"], stats["errors"]) == 0
    by_name = {os.path.basename(s["file"]): s for s in results}
    # PROVENANCE.md: 145 records + filedesc (139 text/html, 6 PDF), and 8 records + filedesc (all html, 200)
    arc_2008, arc_2010 = by_name["small-sample-1213893279526_0.arc"], by_name["small-sample-1262850551027_8.arc"]
    assert (arc_2008["status"], arc_2008["records_read"], arc_2008["errors"]) == ("ok", 145, {})
    assert arc_2008["dropped"]["read.not_html"] == 6 and arc_2008["kept"] > 0
    assert (arc_2010["status"], arc_2010["records_read"], arc_2010["errors"]) == ("ok", 8, {})
    assert arc_2008["record_types"] == {"response": 145, "warcinfo": 1}
    heritrix = by_name["aut_IAH-20080430204825-00000-blackbook.warc.gz"]
    assert heritrix["records_read"] == 299  # PROVENANCE.md: 299 responses
    assert heritrix["dropped"]["read.not_http"] == 38  # its dns: lookups
    assert by_name["dolma_wget2024_sample-0000.warc.gz"]["records_read"] == 22
    # the 2014 sample was cut by its authors inside its 4th response: 38,688 + 24,745 > 58,775 bytes
    assert by_name["wdps_CC-MAIN-2014-35_sample.warc"]["errors"] == {"read.truncated": 1}
    kept = pq.read_table(tmp_path / "out" / config.per_file_docs_folder)
    assert kept.num_rows == sum(s["kept"] for s in results) > 20
    assert set(kept.column("language").to_pylist()) == {"en"}
