"""Smoke test of tests/bench/bench_deploy.py: two receipts of tests/data, a few probes, real gunicorn and nginx."""

import re

import pytest

from tests.bench import bench_deploy
from tests.sroie import TEST_DATA


@pytest.mark.slow
def test_deploy_benchmark_compares_direct_and_nginx_on_two_receipts(capsys):
    bench_deploy.main(["--receipts", "2", "--probes", "6", "--data-root", str(TEST_DATA)])

    header, conditions, *table, added = capsys.readouterr().out.splitlines()
    assert header.startswith("deploy/nginx.conf in front of gunicorn (1 worker), 2 receipts of ")
    assert re.search(r"\d+ of \d+ cores usable; load average [\d.]+ / [\d.]+ / [\d.]+.*nginx version: nginx/",
                     conditions)
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in table[2:])}
    assert list(rows) == ["OCR of a receipt (multipart upload)", "GET /healthz", "GET /metrics (scrape)"]
    for cells in rows.values():
        direct, proxied, ratio = cells[:3]
        assert float(direct.removesuffix(" ms")) > 0 and float(proxied.removesuffix(" ms")) > 0
        assert float(ratio) > 0
    assert re.fullmatch(r"median added by nginx per OCR request: -?[\d.]+ ms", added)
