"""Smoke test of tests/bench/bench_accuracy.py on three receipts, so the benchmark cannot rot."""

import re

import pytest

from tests.bench import bench_accuracy
from tests.sroie import TEST_DATA


@pytest.mark.slow
def test_accuracy_benchmark_prints_every_engine_on_three_receipts(capsys):
    bench_accuracy.main(["--limit", "3", "--data-root", str(TEST_DATA)])

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("3 receipts of sroie-dev")
    assert re.match(r"conditions: .*\d+ of \d+ cores usable; load average ", lines[1])
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines[4:])}
    assert list(rows) == ["this service", "RapidOCR", "Tesseract"]
    for cells in rows.values():
        cer, word_f1, line_f1, seconds, ratio, turned_cer, turned_word_f1, turned_line_f1 = cells
        assert 0 <= float(cer) and 0 <= float(word_f1) <= 1 and 0 <= float(line_f1) <= 1
        assert float(seconds) > 0 and ratio.endswith("x")
        assert 0 <= float(turned_cer) and 0 <= float(turned_word_f1) <= 1 and 0 <= float(turned_line_f1) <= 1
    service = rows["this service"]
    # This service reads these receipts well whichever way up they come.
    assert float(service[0]) < 0.12 and float(service[5]) < 0.12
