"""Layout benchmark: line grouping, Markdown tables and layout time on the SROIE dev receipts.

    .venv/bin/python -m tests.bench.bench_layout [--limit N] [--runs R] [--data-root DIR]

Each receipt (``DIR/sroie-dev``, default ../shared/datasets) is recognised once
by the real engine, as the endpoint does; then everything the endpoint does after
recognition runs R times and the median of each part is kept: the layout (lines,
blocks, Markdown and the result object, what ``timing.layout_ms`` reports) and
the serialisation (the marshmallow schema and Flask's JSON encoding of the answer).

Line grouping is judged on pairs of ground-truth boxes whose relation is clear
(tests/layout_truth.py): they clearly share a row (vertical overlap of at least
60% of the smaller height) or clearly do not (no vertical overlap). Predicted
segments are mapped to the truth box they cover most; the score is the share of
pairs the service's ``lines`` group the same way. The peer, measured on the
same segments in the same run, is the usual fixed-pixel rule: segments whose
centres are within 10 pixels of height share a line, no deskewing.
A receipt "yields a Markdown table" when markdown-it-py finds a table in its
Markdown; a truth row of three or more boxes (item, quantity, price...) counts
as shown when a table row's filled cells match its texts (fuzzy ratio >= 80).
The time after recognition is compared with the recognition time of the same images.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from flask import jsonify

from app import create_app
from app.config import Config, TestConfig
from app.document.layout import lay_out
from app.document.result import build_result
from app.document.schemas import ocr_result_schema
from app.inputs.image_loader import load_image
from app.recognition.engine import OcrEngine
from app.web.request_form import OcrRequest
from tests.bench import SROIE
from tests.bench.conditions import conditions
from tests.layout_truth import LineAgreement, line_agreement, printed_rows_in_tables
from tests.markdown_blocks import parse_blocks
from tests.sroie import ground_truth, receipt_ids, receipt_path

PEER_PIXELS = 10


def fixed_pixel_lines(segments):
    """The peer: a segment joins the line whose last centre is within PEER_PIXELS of its own."""
    centres = [float(np.asarray(s.polygon)[:, 1].mean()) for s in segments]
    line_of, last_centre = {}, []
    for index in sorted(range(len(segments)), key=centres.__getitem__):
        if last_centre and centres[index] - last_centre[-1] <= PEER_PIXELS:
            last_centre[-1] = centres[index]
        else:
            last_centre.append(centres[index])
        line_of[index] = len(last_centre) - 1
    return line_of


def bounding_box(polygon):
    points = np.asarray(polygon, dtype=np.float64)
    return (*points.min(axis=0), *points.max(axis=0))


def lay_out_result(loaded, recognition, config):
    """The layout part of what the endpoint does after recognition, with Markdown on."""
    request = OcrRequest(
        source="file", image_bytes=b"", url=None, image_name="receipt.jpg",
        need_location=True, return_markdown=True, enable_cls=False,
    )
    layouts = [lay_out(recognition.segments)]
    return layouts[0], build_result(request, loaded, [recognition], layouts, {}, config.LOW_SCORE_THRESHOLD)


def serialise(app, result):
    """The rest: the schema and the JSON body, as the view answers."""
    with app.app_context():
        return jsonify(ocr_result_schema.dump(result)).get_data()


def time_after_recognition(app, loaded, recognition, config, runs):
    """Median ms of the layout and of the serialisation over ``runs``; the last layout and result."""
    layout_ms, serialise_ms = [], []
    for _ in range(runs):
        started = time.perf_counter()
        layout, result = lay_out_result(loaded, recognition, config)
        laid_out = time.perf_counter()
        serialise(app, result)
        layout_ms.append((laid_out - started) * 1000)
        serialise_ms.append((time.perf_counter() - laid_out) * 1000)
    return statistics.median(layout_ms), statistics.median(serialise_ms), layout, result


def run(engine, ids, runs, config, progress, root=SROIE):
    service, peer = LineAgreement(), LineAgreement()
    tables, rows_found, rows_printed, layout_ms, serialise_ms, recognition_ms = 0, 0, 0, [], [], []
    app = create_app(TestConfig(), engine=engine)
    for receipt_id in ids:
        loaded = load_image(receipt_path(receipt_id, root).read_bytes(), config.MAX_IMAGE_PIXELS)
        started = time.perf_counter()
        recognition = engine.recognize(loaded.pages[0].pixels)
        recognition_ms.append((time.perf_counter() - started) * 1000)
        layout_time, serialise_time, layout, result = time_after_recognition(app, loaded, recognition, config, runs)
        layout_ms.append(layout_time)
        serialise_ms.append(serialise_time)

        truth = ground_truth(receipt_id, root)
        boxes = [bounding_box(s.polygon) for s in layout.segments]
        line_of = {i: k for k, line in enumerate(layout.lines) for i in line.segments}
        service = service.add(line_agreement(truth, boxes, line_of))
        raw_boxes = [bounding_box(s.polygon) for s in recognition.segments]
        peer = peer.add(line_agreement(truth, raw_boxes, fixed_pixel_lines(recognition.segments)))
        parsed_tables = [block for block in parse_blocks(result["markdown"]) if block.kind == "table"]
        tables += bool(parsed_tables)
        found, printed = printed_rows_in_tables(truth, [row for table in parsed_tables for row in table.items])
        rows_found, rows_printed = rows_found + found, rows_printed + printed
        progress(f"{receipt_id}: {len(layout.lines)} lines, tables={len(parsed_tables)}, "
                 f"layout {layout_ms[-1]:.1f} ms, serialisation {serialise_ms[-1]:.1f} ms")
    return service, peer, tables, (rows_found, rows_printed), layout_ms, serialise_ms, recognition_ms


def percent(part, whole):
    return f"{100 * part / max(1, whole):.2f}% ({part}/{whole})"


def format_table(count, service, peer, tables, rows, layout_ms, serialise_ms, recognition_ms):
    after_ms = [a + b for a, b in zip(layout_ms, serialise_ms)]
    rows = [
        ("line grouping accuracy, all clear pairs",
         percent(service.same_row_together + service.other_row_apart, service.same_row + service.other_row),
         percent(peer.same_row_together + peer.other_row_apart, peer.same_row + peer.other_row)),
        ("  same-row pairs on one line", percent(service.same_row_together, service.same_row),
         percent(peer.same_row_together, peer.same_row)),
        ("  other-row pairs on different lines", percent(service.other_row_apart, service.other_row),
         percent(peer.other_row_apart, peer.other_row)),
        ("receipts with a Markdown table", f"{tables}/{count}", ""),
        ("  printed rows of 3+ columns shown as a table row", percent(*rows), ""),
        ("ms after recognition per image (layout + serialisation), mean", f"{statistics.fmean(after_ms):.1f}", ""),
        ("ms after recognition per image, median", f"{statistics.median(after_ms):.1f}", ""),
        ("ms after recognition per image, max", f"{max(after_ms):.1f}", ""),
        ("  layout (lines, blocks, Markdown, result object; timing.layout_ms), median",
         f"{statistics.median(layout_ms):.1f}", ""),
        ("  serialisation (schema, JSON), median", f"{statistics.median(serialise_ms):.1f}", ""),
        ("recognition ms per image, median (for scale)", f"{statistics.median(recognition_ms):.0f}", ""),
        ("time after recognition / recognition time, mean",
         f"{statistics.fmean(after_ms) / statistics.fmean(recognition_ms):.2%}", ""),
    ]
    lines = [f"| measure | this service | peer: centres within {PEER_PIXELS} px |", "| --- | --- | --- |"]
    lines += [f"| {name} | {value} | {peer_value} |" for name, value, peer_value in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N receipts")
    parser.add_argument("--runs", type=int, default=5, help="layout runs per receipt (median kept)")
    parser.add_argument("--data-root", type=Path, default=SROIE.parent, help="folder holding sroie-dev/")
    args = parser.parse_args(argv)
    root = args.data_root / SROIE.name
    config = Config()
    engine = OcrEngine({name: getattr(config, name) for name in dir(config) if name.isupper()})
    engine.warm_up()
    ids = receipt_ids(root)[: args.limit]
    results = run(engine, ids, args.runs, config, progress=lambda line: print(line, file=sys.stderr), root=root)
    print(f"{len(ids)} receipts of {root}; times after recognition: median of {args.runs} runs per receipt")
    print(conditions())
    print(format_table(len(ids), *results))


if __name__ == "__main__":
    main()
