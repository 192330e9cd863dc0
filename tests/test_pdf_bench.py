"""Smoke test of tests/bench/bench_pdf.py on one receipt, so the benchmark cannot rot.

The receipt comes from tests/data/pdf, laid out as the benchmark's --dataset
folder expects (img/NNN.jpg, box/NNN.csv); the memory part is run on its own, on
the same receipt.
"""

import shutil

import pytest

from tests import pdf_documents as pdf
from tests.bench import bench_pdf


@pytest.mark.slow
def test_pdf_benchmark_prints_its_tables(tmp_path, capsys):
    for folder, suffix in (("img", ".jpg"), ("box", ".csv")):
        (tmp_path / folder).mkdir()
        shutil.copy(pdf.RECEIPT_JPEG.with_suffix(suffix), tmp_path / folder / f"019{suffix}")

    bench_pdf.main(["--receipts", "1", "--runs", "1", "--no-memory", "--dataset", str(tmp_path)])

    out = capsys.readouterr().out
    table_lines = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in table_lines)}
    text_layer, ocr = rows["text layer"], rows["OCR of the rendered pages"]
    # The text layer gives back exactly what was written, and only the text layer is read.
    assert float(text_layer[0]) == 0 and text_layer[3] == "text_layer" and ocr[3] == "ocr"
    assert float(text_layer[1]) > 0 and text_layer[2].endswith("x")
    as_pdf, as_jpeg = rows["PDF pages"], rows["JPEGs"]
    # The scan inside the PDF is read exactly as the JPEG is.
    assert as_pdf[:3] == as_jpeg[:3] and float(as_pdf[0]) < 0.2
    assert "1 receipts of" in out and "cores usable; load average" in out


@pytest.mark.slow
def test_the_memory_part_reads_a_real_workers_peak(tmp_path):
    """The memory runs, skipped above, on one receipt: a fresh gunicorn worker's VmHWM and the request's time."""
    peak_mb, total_ms = bench_pdf.peak_worker_mb(pdf.RECEIPT_JPEG.read_bytes(), "receipt.jpg", str(tmp_path))
    assert 200 < peak_mb < 3000 and total_ms > 0
