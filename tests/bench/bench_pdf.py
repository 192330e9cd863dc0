"""PDF benchmark: the text layer against OCR of the same pages, scanned receipts against their JPEGs, memory.

    .venv/bin/python -m tests.bench.bench_pdf [--receipts N] [--runs R] [--dataset DIR] [--no-memory]

1. Born-digital: a 6-page PDF the benchmark writes from known lines (Helvetica,
   Times, Courier and a CJK font; 8 to 24 points; two columns; a table; Chinese
   and English). Each page is read from its text layer, and again with
   force_ocr=true (rendered at the same resolution and recognised). CER compares
   a page's lines with the lines written, both sorted, so it measures the text,
   not the reading order. Milliseconds per page are the endpoint's total_ms over
   the pages, median of R runs.
2. Scanned: the SROIE dev receipts, ten to a PDF, each page the JPEG itself at
   200 dpi (the scan's pixels, a page exactly its size). CER, word F1 and line F1
   (tests/sroie.py) against posting each JPEG; the share of the PDF requests'
   time spent opening and rendering the PDF (decode_ms), against the JPEGs'.
3. Memory: real gunicorn, one fresh worker for each input: its peak RSS
   (VmHWM) after a 10-page scanned PDF, and after the largest single image the
   service accepts (a 40-megapixel JPEG tiled from receipts, OCR_MAX_IMAGE_PIXELS).
"""

import argparse
import io
import logging
import statistics
import sys
from pathlib import Path

import requests
from PIL import Image

from tests import pdf_documents as pdf
from tests import sroie
from tests.bench import SROIE
from tests.bench.conditions import conditions
from tests.sroie import (
    Scores,
    bounding_box,
    character_error_rate,
    ground_truth,
    receipt_ids,
)

OCR = "/api/v1/image/ocr"
SCAN_DPI = 200
PAGES_PER_PDF = 10
DEADLINE = 600.0

ENGLISH = [
    "The quarterly statement lists every transfer made to the account.",
    "Balances are shown in euros and include interest paid on the last day.",
    "Questions about a payment can be sent to the branch named below.",
    "Cheques deposited after noon are credited on the next working day.",
]
CHINESE = ["本月账户余额变动明细如下", "利息于每季度最后一日支付", "如有疑问请联系开户网点"]
TABLE = [
    ("Date", "Description", "Debit", "Credit"),
    ("03/01", "Card payment 4471", "42.80", ""),
    ("07/01", "Salary January", "", "2,950.00"),
    ("12/01", "Rent transfer", "1,100.00", ""),
    ("19/01", "Refund order 9921", "", "18.45"),
]


def born_digital_document():
    """The PDF and, per page, the lines it holds."""
    writer, pages = pdf.PdfWriter(), []

    def page(lines):
        pages.append(lines)

    writer.page().lines(72, 740, ENGLISH, 11, "Helvetica")
    page(list(ENGLISH))
    writer.page().text(72, 720, "Statement of Account", 24, "Helvetica-Bold")
    writer.lines(72, 690, ENGLISH[:2], 10, "Times-Roman").lines(72, 640, ENGLISH[2:], 8, "Courier")
    page(["Statement of Account", *ENGLISH])
    left, right = [line[:34].strip() for line in ENGLISH * 2], [line[-34:].strip() for line in ENGLISH * 2]
    writer.page().lines(60, 740, left, 10, "Times-Roman").lines(330, 740, right, 10, "Times-Roman")
    page(left + right)
    writer.page().text(72, 740, "Transactions", 16, "Helvetica-Bold")
    for row, cells in enumerate(TABLE):
        for x, cell in zip((72, 150, 360, 460), cells):
            if cell:
                writer.text(x, 700 - 20 * row, cell, 10, "Courier")
    page(["Transactions", *(" ".join(cell for cell in cells if cell) for cells in TABLE)])
    writer.page().lines(72, 740, CHINESE, 14, "cjk").lines(72, 640, ENGLISH[:2], 12, "Helvetica")
    page([*CHINESE, *ENGLISH[:2]])
    writer.page().text(72, 720, "Notes", 20, "Times-Bold").lines(72, 690, CHINESE[:2], 12, "cjk")
    writer.lines(72, 600, ENGLISH[2:], 9, "Helvetica").text(72, 80, "Page 6 of 6", 8, "Helvetica")
    page(["Notes", *CHINESE[:2], *ENGLISH[2:], "Page 6 of 6"])
    return writer.bytes(), pages


def sorted_lines_cer(result, truth_pages):
    """CER of each page's lines against the lines written, both sorted; total edits over truth characters."""
    edits = characters = 0
    for number, truth in enumerate(truth_pages):
        read = sorted(line["words"] for line in result["lines"] if line["page"] == number)
        expected = "\n".join(sorted(truth))
        edits += character_error_rate("\n".join(read), expected) * len(expected)
        characters += len(expected)
    return edits / characters


def post(client, data, name, **fields):
    answer = client.post(OCR, data={"file": (io.BytesIO(data), name), **fields}, content_type="multipart/form-data")
    if answer.status_code != 200:
        raise RuntimeError(f"{name}: {answer.status_code} {answer.get_data(as_text=True)[:200]}")
    return answer.get_json()


def born_digital(client, runs):
    data, truth = born_digital_document()
    rows = []
    for label, fields in (("text layer", {}), ("OCR of the rendered pages", {"force_ocr": "true"})):
        results = [post(client, data, "statement.pdf", **fields) for _ in range(runs)]
        sources = {page["source"] for result in results for page in result["pages"]}
        per_page = statistics.median(result["timing"]["total_ms"] for result in results) / len(truth)
        rows.append((label, sorted_lines_cer(results[0], truth), per_page, "/".join(sorted(sources))))
    return rows, len(truth)


def scanned_pdf(paths):
    writer = pdf.PdfWriter()
    for path in paths:
        with Image.open(path) as image:
            size = image.size
        pdf.scanned_page(writer, path.read_bytes(), size, SCAN_DPI)
    return writer.bytes()


def scanned(client, ids, dataset):
    as_pdf, as_jpeg = Scores(), Scores()
    pdf_ms = pdf_decode_ms = jpeg_ms = jpeg_decode_ms = 0.0
    for start in range(0, len(ids), PAGES_PER_PDF):
        chunk = ids[start:start + PAGES_PER_PDF]
        result = post(client, scanned_pdf([sroie.receipt_path(i, dataset) for i in chunk]), "receipts.pdf")
        pdf_ms += result["timing"]["total_ms"]
        pdf_decode_ms += result["timing"]["decode_ms"]
        for number, receipt_id in enumerate(chunk):
            items = [item for item in result["words_result"] if item["page"] == number]
            add(as_pdf, items, ground_truth(receipt_id, dataset))
            single = post(client, sroie.receipt_path(receipt_id, dataset).read_bytes(), f"{receipt_id}.jpg")
            jpeg_ms += single["timing"]["total_ms"]
            jpeg_decode_ms += single["timing"]["decode_ms"]
            add(as_jpeg, single["words_result"], ground_truth(receipt_id, dataset))
    return as_pdf, as_jpeg, (pdf_ms, pdf_decode_ms), (jpeg_ms, jpeg_decode_ms)


def add(scores, items, truth):
    boxes = [bounding_box([(p["x"], p["y"]) for p in item["vertexes_location"]]) for item in items]
    scores.add([item["words"] for item in items], boxes, truth)


def largest_image(paths, max_pixels, max_bytes):
    """A JPEG of just under ``max_pixels`` and ``max_bytes``: receipts tiled on a white page."""
    width = int((max_pixels * 0.75) ** 0.5)
    height = max_pixels // width - 1
    page = Image.new("RGB", (width, height), "white")
    x = y = row_height = 0
    for path in paths * 20:
        with Image.open(path) as receipt:
            receipt = receipt.convert("RGB")
            if x + receipt.width > width:
                x, y, row_height = 0, y + row_height, 0
            if y + receipt.height > height:
                break
            page.paste(receipt, (x, y))
            x, row_height = x + receipt.width, max(row_height, receipt.height)
    for quality in (90, 80, 70, 60, 50):
        buffer = io.BytesIO()
        page.save(buffer, "JPEG", quality=quality)
        if buffer.tell() <= max_bytes:
            break
    return buffer.getvalue(), page.size


def peak_worker_mb(data, name, model_dir):
    """Peak RSS of a fresh gunicorn worker that read ``data`` once."""
    import psutil

    from tests.bench.bench_service import peak_rss_mb
    from tests.servers import running_gunicorn

    # A 40-megapixel image is one engine call that can outlast the worker timeout (120 s) when the machine is loaded.
    env = {"OCR_MODEL_CACHE_DIR": model_dir, "OCR_REQUEST_DEADLINE": str(DEADLINE), "OCR_WORKER_TIMEOUT": str(int(DEADLINE))}
    with running_gunicorn(workers=1, env=env) as (process, base_url):
        answer = requests.post(f"{base_url}{OCR}", files={"file": (name, data)}, timeout=600)
        answer.raise_for_status()
        [worker] = psutil.Process(process.pid).children()
        return peak_rss_mb(worker.pid), answer.json()["timing"]["total_ms"]


def print_scanned(client, ids, dataset):
    as_pdf, as_jpeg, (pdf_ms, pdf_decode), (jpeg_ms, jpeg_decode) = scanned(client, ids, dataset)
    print(f"\nScanned: {len(ids)} receipts of {dataset.name}, {PAGES_PER_PDF} to a PDF at {SCAN_DPI} dpi, "
          "against posting each JPEG")
    print("| input | CER | word F1 | line F1 | total s | opening and rendering (decode_ms) share |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, scores, total, decode in (("PDF pages", as_pdf, pdf_ms, pdf_decode),
                                         ("JPEGs", as_jpeg, jpeg_ms, jpeg_decode)):
        print(f"| {label} | {scores.cer:.4f} | {scores.word_f1:.4f} | {scores.line_f1:.4f} | "
              f"{total / 1000:.1f} | {decode / total:.2%} |")
    print(f"CER difference {as_pdf.cer - as_jpeg.cer:+.4f}; PDF time {pdf_ms / jpeg_ms - 1:+.1%} against the JPEGs")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receipts", type=int, default=100, help="scanned receipts to read (default all 100; 0: none)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the born-digital document per path")
    parser.add_argument("--dataset", type=Path, default=SROIE, help="the SROIE dev folder (img/, box/)")
    parser.add_argument("--no-memory", action="store_true", help="skip the gunicorn peak-memory runs")
    args = parser.parse_args(argv)

    from app import create_app
    from app.config import Config
    from app.recognition.engine import OcrEngine

    config = Config()
    # Ten scanned pages in one request can outlast the 60 s deadline on a loaded machine;
    # this measures reading, not the deadline.
    config.REQUEST_DEADLINE = DEADLINE
    settings = {name: getattr(config, name) for name in dir(config) if name.isupper()}
    engine = OcrEngine(settings)
    engine.warm_up()
    client = create_app(config, engine=engine).test_client()
    # One JSON line per request on stdout would bury the tables; the level is put back
    # afterwards, since the smoke test runs this in the test process.
    request_log = logging.getLogger("app.web.request_log")
    level = request_log.level
    request_log.setLevel(logging.WARNING)
    try:
        run(client, config, settings, args)
    finally:
        request_log.setLevel(level)
    print(f"\n{conditions('pypdfium2')}")
    return 0


def run(client, config, settings, args):
    """Print the born-digital table, then the scanned one, then the peak memory."""
    rows, pages = born_digital(client, args.runs)
    ocr_ms = rows[1][2]
    print(f"Born-digital: {pages} pages, median of {args.runs} runs per path")
    print("| path | CER | ms per page | speed against OCR | pages read as |")
    print("| --- | --- | --- | --- | --- |")
    for label, cer, per_page, sources in rows:
        print(f"| {label} | {cer:.4f} | {per_page:.1f} | {ocr_ms / per_page:.1f}x | {sources} |")

    ids = receipt_ids(args.dataset)[: args.receipts]
    if ids:
        print_scanned(client, ids, args.dataset)

    if not args.no_memory:
        model_dir = settings["MODEL_CACHE_DIR"]
        paths = [sroie.receipt_path(i, args.dataset) for i in receipt_ids(args.dataset)[:PAGES_PER_PDF]]
        pdf_peak, pdf_total = peak_worker_mb(scanned_pdf(paths), "receipts.pdf", model_dir)
        image, size = largest_image(paths, config.MAX_IMAGE_PIXELS, config.MAX_IMAGE_BYTES)
        image_peak, image_total = peak_worker_mb(image, "largest.jpg", model_dir)
        print("\nPeak RSS of one fresh gunicorn worker (VmHWM)")
        print("| input | peak MB | request s |")
        print("| --- | --- | --- |")
        print(f"| {len(paths)}-page scanned PDF | {pdf_peak:.0f} | {pdf_total / 1000:.1f} |")
        print(f"| largest image accepted, {size[0]}x{size[1]} JPEG | {image_peak:.0f} | {image_total / 1000:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
