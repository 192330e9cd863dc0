"""Smoke test of tests/bench/bench_memory.py: one receipt of tests/data, two strip settings, one pass each."""

import re

import pytest

from tests.bench import bench_memory
from tests.sroie import TEST_DATA


@pytest.mark.slow
def test_memory_benchmark_prints_a_row_per_strip_setting(capsys):
    bench_memory.main(["--limit", "1", "--passes", "1", "--strips", "2.2,none", "--data-root", str(TEST_DATA)])

    header, conditions, *table = capsys.readouterr().out.splitlines()
    assert header.startswith("one engine per process") and "the first 1 receipts" in header
    assert re.search(r"\d+ of \d+ cores usable; load average [\d.]+ / [\d.]+ / [\d.]+", conditions)
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in table[2:])}
    assert list(rows) == ["2.2 (default)", "none"]
    for warm, first_peak, last_peak, cer in rows.values():
        # Reading a receipt takes memory beyond the warmed engine; the peak never falls.
        assert 100 < float(warm) < float(first_peak) <= float(last_peak)
        assert 0 <= float(cer) < 0.3
