"""Smoke test of tests/bench/bench_service.py on one generated Chinese page, so the benchmark cannot rot.

The page is made by tests/bench/dev_sets.py from Debian's fortunes-zh (no shared data);
the peer is RapidOCR from var/peers (`make bench-deps`).
"""

import pytest

from tests.bench import bench_service


def table_rows(lines):
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines
                                              if line.startswith("| ") and not line.startswith("| set "))}


@pytest.mark.slow
def test_service_benchmark_prints_every_figure_for_the_service_and_a_peer(capsys):
    bench_service.main(["--sets", "zh-pages", "--limit", "1", "--peers", "rapidocr", "--clients", "1,2",
                        "--throughput-images", "2"])

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("at most 1 images per set; classifiers off for every engine")
    assert "cores usable" in lines[1] and "granted" in lines[1]
    assert "load average" in lines[1] and "RapidOCR 3.10.0" in lines[1]
    rows = table_rows(lines)
    service_cell, peer_cell, ratio = rows["zh-pages"][1:]
    for cell in (service_cell, peer_cell):
        seconds, cer = cell.rstrip(")").split(" (")
        assert float(seconds) > 0
    # Both read the rendered page well; the service no worse than the peer, within a small margin.
    service_cer, peer_cer = (float(cell.rstrip(")").split(" (")[1]) for cell in (service_cell, peer_cell))
    assert service_cer < 0.1 and service_cer <= peer_cer + 0.02
    assert float(ratio) > 0
    for name in ("total time, all images (s)", "peak memory per process (MB)",
                 "throughput, 1 clients (images/s)", "throughput, 2 clients (images/s)"):
        assert all(float(value) > 0 for value in rows[name][1:4]), name
    assert any(line.startswith("Service overhead") and "ms per image" in line for line in lines)
