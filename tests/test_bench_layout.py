"""Smoke test of tests/bench/bench_layout.py on two receipts of tests/data, so the benchmark cannot rot."""

import re

import pytest

from tests.bench import bench_layout
from tests.sroie import TEST_DATA


@pytest.mark.slow
def test_layout_benchmark_prints_its_conditions_and_table_on_two_receipts(capsys):
    bench_layout.main(["--limit", "2", "--runs", "2", "--data-root", str(TEST_DATA)])

    header, conditions, *table = capsys.readouterr().out.splitlines()
    assert header.startswith("2 receipts of ") and "median of 2 runs" in header
    assert re.search(r"\d+ of \d+ cores usable; load average [\d.]+ / [\d.]+ / [\d.]+", conditions)
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in table[2:])}
    grouping, peer_grouping = rows["line grouping accuracy, all clear pairs"]
    assert float(grouping.split("%")[0]) > 90 and float(peer_grouping.split("%")[0]) > 90
    assert rows["receipts with a Markdown table"][0] == "2/2"
    after = float(rows["ms after recognition per image, median"][0])
    layout = float(rows["layout (lines, blocks, Markdown, result object; timing.layout_ms), median"][0])
    serialisation = float(rows["serialisation (schema, JSON), median"][0])
    assert layout > 0 and serialisation > 0 and after >= max(layout, serialisation)
    assert float(rows["recognition ms per image, median (for scale)"][0]) > after
