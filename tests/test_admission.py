"""The engine line: bounded in length and time, a deadline per request, a heartbeat gunicorn can trust."""

import os
import threading
import time
from types import SimpleNamespace

import pytest
from gunicorn.workers.workertmp import WorkerTmp

from app import create_app
from app.config import TestConfig
from app.gunicorn_worker import OcrWorker
from app.web.admission import Admission
from app.web.errors import DeadlineExceededError, ServiceBusyError
from tests.hostile_inputs import OCR, WORD, encode, text_image, upload
from tests.sroie import TEST_RECEIPTS, receipt_path


def post_image(client, data):
    body, content_type = upload(data, "page.png")
    return client.post(OCR, data=body, content_type=content_type)


@pytest.fixture
def held_engine():
    """An admission whose engine thread is held by a call until the test lets it go."""
    admission = Admission(queue_length=2, queue_timeout=0.3, deadline=0.6)
    release = threading.Event()
    holder = threading.Thread(target=admission.run, args=(time.monotonic() + 60, release.wait))
    holder.start()
    while admission.busy_since is None:
        time.sleep(0.01)
    yield admission, release
    release.set()
    holder.join()


def test_a_full_line_answers_503_with_retry_after_and_frees_up_again(app):
    admission = app.extensions["admission"]
    for _ in range(admission.capacity):
        admission.enter()
    try:
        answer = post_image(app.test_client(), encode(text_image(), "PNG"))
    finally:
        for _ in range(admission.capacity):
            admission.leave()
    assert answer.status_code == 503
    assert answer.get_json()["code"] == "SERVICE_BUSY"
    assert answer.headers["Retry-After"] == "1"
    again = post_image(app.test_client(), encode(text_image(), "PNG"))
    assert again.status_code == 200 and WORD in again.get_json()["text"]


def test_a_call_that_cannot_start_in_time_is_refused_and_never_runs(held_engine):
    admission, release = held_engine
    ran = []
    with pytest.raises(ServiceBusyError):
        admission.run(time.monotonic() + 60, lambda: ran.append("late"))
    release.set()
    admission.run(time.monotonic() + 60, lambda: ran.append("next"))  # runs once the holder is done
    assert ran == ["next"]


def test_the_line_length_counts_requests_inside_the_worker():
    admission = Admission(queue_length=1, queue_timeout=1, deadline=1)
    admission.enter()
    admission.enter()
    with pytest.raises(ServiceBusyError):
        admission.enter()
    admission.leave()
    admission.enter()  # room again


def test_a_request_past_its_deadline_gets_504_and_the_worker_carries_on(engine):
    config = TestConfig()
    config.REQUEST_DEADLINE = 0.3  # far below what a receipt takes
    client = create_app(config, engine=engine).test_client()
    answer = post_image(client, receipt_path("000", TEST_RECEIPTS).read_bytes())
    assert answer.status_code == 504
    assert answer.get_json()["code"] == "DEADLINE_EXCEEDED" and "0.3 s" in answer.get_json()["message"]
    config.REQUEST_DEADLINE = 60
    later = post_image(create_app(config, engine=engine).test_client(), encode(text_image(), "PNG"))
    assert later.status_code == 200 and WORD in later.get_json()["text"]


def test_a_call_still_waiting_at_the_deadline_gets_504(held_engine):
    admission, _release = held_engine
    admission.queue_timeout = 5  # the 0.6 s deadline comes first
    with pytest.raises(DeadlineExceededError):
        admission.run(time.monotonic(), lambda: None)


def test_worker_heartbeat_dates_from_the_engine_call_in_progress(tmp_path):
    admission = Admission(queue_length=1, queue_timeout=5, deadline=5)
    worker = object.__new__(OcrWorker)  # only the heartbeat is exercised, not a whole worker
    worker.tmp = WorkerTmp(SimpleNamespace(umask=0o22, worker_tmp_dir=str(tmp_path), uid=os.geteuid(), gid=os.getegid()))
    worker.wsgi = SimpleNamespace(extensions={"admission": admission})

    worker.notify()
    assert abs(worker.tmp.last_update() - time.monotonic()) < 1  # idle: beats as usual

    release = threading.Event()
    holder = threading.Thread(target=admission.run, args=(time.monotonic(), release.wait))
    holder.start()
    while admission.busy_since is None:
        time.sleep(0.01)
    time.sleep(0.5)
    worker.notify()
    # Busy: the beat stays at the call's start, so gunicorn sees the call's age.
    assert worker.tmp.last_update() == pytest.approx(admission.busy_since, abs=1e-3)
    assert time.monotonic() - worker.tmp.last_update() >= 0.5
    release.set()
    holder.join()
    worker.notify()
    assert abs(worker.tmp.last_update() - time.monotonic()) < 1
    worker.tmp.close()
