"""Inference sessions take the idle cores at each run, and a worker gives memory back after each image."""

import subprocess
import sys

import cv2
import numpy as np
import pytest

from app.config import granted_cores
from app.recognition import inference_sessions
from app.recognition.inference_sessions import AdaptiveSession
from tests.sroie import TEST_RECEIPTS, receipt_path


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
