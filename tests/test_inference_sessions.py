"""Inference sessions take the idle cores at each run, on either runtime, and a worker gives memory back after each image."""

import subprocess
import sys

import cv2
import numpy as np
import pytest

from app.config import TestConfig, granted_cores
from app.document.layout import reading_order
from app.recognition import inference_sessions
from app.recognition.inference_sessions import AdaptiveSession, native_precision
from tests.sroie import TEST_RECEIPTS, Scores, bounding_box, ground_truth, receipt_path


@pytest.fixture
def recognition_session(engine):
    return engine._rec_model.runner.session


def test_the_default_uses_every_core(engine, recognition_session):
    assert engine._config["INFERENCE_THREADS"] == granted_cores()


@pytest.mark.parametrize(
    "runnable, expected",
    [
        (1, 2),  # only this thread: both cores
        (2, 1),  # one other task running (another worker's image): one core each
        (5, 1),  # a busy machine: never more threads than cores are idle
    ],
)
def test_each_run_takes_the_cores_no_other_task_is_using(recognition_session, monkeypatch, runnable, expected):
    session = AdaptiveSession(recognition_session.model_path, max_threads=2, cores=2)
    monkeypatch.setattr(inference_sessions, "_runnable_tasks", lambda: runnable)
    assert session.threads_now() == expected


def test_a_busy_core_is_seen_from_the_kernel(recognition_session):
    """With a spinning process beside it, the session of a 2-core machine falls back to one thread."""
    session = AdaptiveSession(recognition_session.model_path, max_threads=2, cores=2)
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        # The spinner is runnable nearly always; sample a few times to ride out scheduling.
        assert min(session.threads_now() for _ in range(20)) == 1
    finally:
        spinner.kill()
        spinner.wait()


def test_thread_count_does_not_change_the_reading(engine, monkeypatch):
    pixels = cv2.imread(str(receipt_path("000", TEST_RECEIPTS)), cv2.IMREAD_COLOR)
    readings = []
    for runnable in (1, 9):  # idle machine (2 threads where there are 2 cores), then busy (1 thread)
        monkeypatch.setattr(inference_sessions, "_runnable_tasks", lambda: runnable)
        readings.append([(s.text, round(s.score, 3)) for s in engine.recognize(pixels).segments])
    assert readings[0] == readings[1]
    assert len(readings[0]) > 30


def _resident_mb():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024


def test_memory_of_a_large_image_is_given_back(engine):
    """An 8.7-megapixel scan needs about 1 GB while it is read; a worker keeps no more than its budget."""
    pixels = cv2.imread(str(receipt_path("023", TEST_RECEIPTS)), cv2.IMREAD_COLOR)
    engine.recognize(np.ascontiguousarray(pixels[:1000]))  # the heap's small steady state
    before = _resident_mb()
    assert engine.recognize(pixels).segments
    retained = engine._config["RETAINED_MEMORY_MB"]
    assert _resident_mb() < max(before + 100, retained + 50)


def test_bf16_is_used_only_where_the_cpu_computes_it():
    assert native_precision("bf16", ["FP32", "BF16", "INT8"]) == "bf16"
    assert native_precision("bf16", ["FP32", "INT8"]) == "f32"  # emulated bf16 is slower than f32
    assert native_precision("f32", ["FP32", "BF16"]) == "f32"


def test_an_unknown_runtime_or_precision_names_its_variable(recognition_session):
    with pytest.raises(ValueError, match="OCR_INFERENCE_RUNTIME must be one of onnxruntime, openvino"):
        AdaptiveSession(recognition_session.model_path, 1, runtime="tensorrt")
    with pytest.raises(ValueError, match="OCR_INFERENCE_PRECISION must be one of bf16, f32"):
        AdaptiveSession(recognition_session.model_path, 1, runtime="openvino", precision="fp8")


RUNTIMES = [("onnxruntime", "f32"), ("openvino", "f32"), ("openvino", "bf16")]


@pytest.fixture(scope="module")
def readings(tmp_path_factory):
    """(scores, texts by receipt) of two receipts, per runtime a worker can run."""
    from app.recognition.engine import OcrEngine

    config = TestConfig()
    settings = {name: getattr(config, name) for name in dir(config) if name.isupper()}
    results = {}
    for runtime, precision in RUNTIMES:
        engine = OcrEngine({**settings, "MODEL_CACHE_DIR": str(tmp_path_factory.mktemp("models")),
                            "INFERENCE_RUNTIME": runtime, "INFERENCE_PRECISION": precision})
        scores, texts = Scores(), {}
        for receipt_id in ("000", "021"):
            pixels = cv2.imread(str(receipt_path(receipt_id, TEST_RECEIPTS)), cv2.IMREAD_COLOR)
            segments = reading_order(engine.recognize(pixels).segments)
            texts[receipt_id] = [s.text for s in segments]
            scores.add(texts[receipt_id], [bounding_box(s.polygon) for s in segments],
                       ground_truth(receipt_id, TEST_RECEIPTS))
        results[runtime, precision] = scores, texts
    return results


@pytest.mark.parametrize("runtime, precision", RUNTIMES[1:])
def test_openvino_reads_receipts_as_well_as_onnxruntime(readings, runtime, precision):
    baseline, _ = readings["onnxruntime", "f32"]
    scores, _ = readings[runtime, precision]
    assert scores.cer <= baseline.cer + 0.005
    assert scores.word_f1 >= baseline.word_f1 - 0.005 and scores.line_f1 >= baseline.line_f1 - 0.005


def test_the_same_float32_weights_read_alike_on_either_runtime(readings):
    for receipt_id, lines in readings["onnxruntime", "f32"][1].items():
        other = readings["openvino", "f32"][1][receipt_id]
        assert len(other) == len(lines) and sum(a == b for a, b in zip(lines, other)) >= 0.95 * len(lines)
