"""Smoke test of tests/bench/bench_overload.py: two receipts of tests/data, 16 clients for a few seconds."""

import re

import pytest

from tests.bench import bench_overload
from tests.sroie import TEST_DATA


@pytest.mark.slow
def test_overload_benchmark_compares_one_client_and_many_on_the_same_receipts(capsys):
    bench_overload.main(["--seconds", "8", "--clients", "16", "--receipts", "2", "--data-root", str(TEST_DATA)])

    header, conditions, answers, served, _blank, *table = capsys.readouterr().out.splitlines()
    assert "the same 2 receipts" in header and "16 clients (8 s)" in header
    assert re.search(r"\d+ of \d+ cores usable; load average [\d.]+ / [\d.]+ / [\d.]+", conditions)
    assert "receipts read with their text: 1 client 2/2" in answers
    assert re.fullmatch(r"receipts served per second: 1 client [\d.]+, 16 clients [\d.]+", served)
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in table[2:])}
    assert list(rows) == ["200, receipt", "503 SERVICE_BUSY", "/readyz"]
    alone, crowded = (int(n) for n in rows["200, receipt"][0].split(" / "))
    assert alone == 2 and crowded >= 1 and rows["200, receipt"][3].endswith("x")
    assert rows["/readyz"][3].endswith("x")
