"""deploy/gunicorn.conf.py, loaded the way gunicorn loads it: values, overrides, hooks, access log;
and real gunicorn stopped by SIGTERM, idle and with a request in flight."""

import json
import os
import re
import runpy
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from unittest import mock

import pytest
from gunicorn.config import Config as GunicornConfig

from app.config import Config
from tests.servers import ROOT, post_long_request, post_receipt, running_gunicorn

CONFIG_FILE = ROOT / "deploy" / "gunicorn.conf.py"
GRACEFUL_TIMEOUT = 30

# Every environment variable the file reads: (variable, gunicorn setting, value set, value expected).
OVERRIDES = [
    ("OCR_BIND", "bind", "0.0.0.0:9000", ["0.0.0.0:9000"]),
    ("OCR_BACKLOG", "backlog", "16", 16),
    ("OCR_FORWARDED_ALLOW_IPS", "forwarded_allow_ips", "10.0.0.5", ["10.0.0.5"]),
    ("OCR_CONTROL_SOCKET", "control_socket", "/run/ocr/gunicorn.ctl", "/run/ocr/gunicorn.ctl"),
    ("OCR_WORKERS", "workers", "3", 3),
    ("OCR_WORKER_THREADS", "threads", "5", 5),
    ("OCR_WORKER_TMP_DIR", "worker_tmp_dir", "/var/tmp", "/var/tmp"),
    ("OCR_WORKER_TIMEOUT", "timeout", "300", 300),
    ("OCR_GRACEFUL_TIMEOUT", "graceful_timeout", "10", 10),
    ("OCR_KEEPALIVE", "keepalive", "2", 2),
    ("OCR_MAX_REQUESTS", "max_requests", "50", 50),
    ("OCR_MAX_REQUESTS_JITTER", "max_requests_jitter", "7", 7),
    ("OCR_ACCESS_LOG", "accesslog", "/var/log/ocr/access.log", "/var/log/ocr/access.log"),
    ("OCR_ERROR_LOG", "errorlog", "/var/log/ocr/error.log", "/var/log/ocr/error.log"),
    ("OCR_LOG_LEVEL", "loglevel", "debug", "debug"),
]


@pytest.fixture
def environ(tmp_path):
    """The process environment without OCR_* variables, restored whole afterwards."""
    with mock.patch.dict(os.environ):
        for name in [name for name in os.environ if name.startswith("OCR_")]:
            del os.environ[name]
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
        yield os.environ


def load_config():
    """Run the file and set each value through gunicorn's validators, as `gunicorn -c` does."""
    namespace = runpy.run_path(str(CONFIG_FILE))
    config = GunicornConfig()
    for name, value in namespace.items():
        if name in config.settings:
            config.set(name, value)
    return config, namespace


def test_every_variable_read_is_covered_here():
    read = set(re.findall(r'(?:_env_int|environ\.get|setdefault)\(\s*"(OCR_[A-Z_]+)"', CONFIG_FILE.read_text()))
    assert read == {row[0] for row in OVERRIDES}


@pytest.mark.parametrize("variable, setting, raw, expected", OVERRIDES, ids=[row[0] for row in OVERRIDES])
def test_environment_overrides_each_setting(environ, variable, setting, raw, expected):
    default, _ = load_config()
    environ[variable] = raw
    overridden, _ = load_config()
    assert getattr(overridden, setting) == expected != getattr(default, setting)


def test_defaults_suit_a_service_behind_nginx(environ):
    config, _ = load_config()
    assert config.bind == ["127.0.0.1:8000"]  # loopback: only nginx reaches it
    assert not config.preload_app  # inference sessions are built after the fork
    assert config.timeout > Config.REQUEST_DEADLINE  # the app answers 504 before gunicorn kills
    assert config.graceful_timeout < config.timeout
    assert 0 < config.max_requests_jitter < config.max_requests
    assert config.accesslog == "-" and config.errorlog == "-"
    assert config.control_socket_disable


def test_access_log_is_one_json_object_per_line(environ, tmp_path):
    environ["OCR_ACCESS_LOG"] = str(tmp_path / "access.log")
    config, _ = load_config()
    logger = config.logger_class(config)
    response = SimpleNamespace(status="413 Request Entity Too Large", sent=120, headers=[("X-Request-ID", "r-1")])
    request = SimpleNamespace(headers=[("X-REQUEST-ID", "r-1"), ("USER-AGENT", 'quote" and \\')])
    environment = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": '/api/v1/image/ocr?url=http://secret/"x',
        "PATH_INFO": '/api/v1/image/"odd',
        "QUERY_STRING": "url=http://secret/x",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    logger.access(response, request, environment, SimpleNamespace(seconds=1, microseconds=250000))
    (line,) = (tmp_path / "access.log").read_text().splitlines()
    entry = json.loads(line)
    assert entry["event"] == "access" and entry["request_id"] == "r-1"
    assert (entry["method"], entry["path"], entry["status"], entry["ms"]) == ("POST", '/api/v1/image/"odd', 413, 1250)
    assert "secret" not in line  # never the query string


def test_metrics_directory_is_made_before_the_master_imports_the_app(environ, tmp_path):
    assert not (tmp_path / "metrics").exists()
    load_config()
    assert (tmp_path / "metrics").is_dir()


def test_on_starting_deletes_the_samples_of_an_earlier_run(environ, tmp_path):
    _, namespace = load_config()
    directory = tmp_path / "metrics"
    (directory / "counter_4242.db").write_bytes(b"stale samples of an earlier run")
    (directory / "README").write_text("not ours")
    namespace["on_starting"](None)
    assert sorted(p.name for p in directory.iterdir()) == ["README"]


def test_child_exit_forgets_the_dead_workers_live_gauges(environ, tmp_path):
    _, namespace = load_config()
    directory = tmp_path / "metrics"
    (directory / "gauge_livesum_4242.db").write_bytes(b"")
    (directory / "counter_4242.db").write_bytes(b"")
    namespace["child_exit"](None, SimpleNamespace(pid=4242))
    assert sorted(p.name for p in directory.iterdir()) == ["counter_4242.db"]


def test_readme_documents_every_variable():
    """README's configuration tables name every OCR_* variable the two config files read."""
    read = set()
    for source in (ROOT / "app" / "config.py", CONFIG_FILE):
        read |= set(re.findall(r'"(OCR_[A-Z_]+)"', source.read_text()))
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`(OCR_[A-Z_]+)`", readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]))
    assert read <= documented, f"missing from README's Configuration: {sorted(read - documented)}"


# --- Stopping: real gunicorn, SIGTERM to the master ------------------------------


def stop(process):
    """SIGTERM to the master, as `docker stop` sends it; the seconds until it exited."""
    started = time.monotonic()
    os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=GRACEFUL_TIMEOUT + 30)
    return time.monotonic() - started


@pytest.mark.slow
def test_an_idle_service_stops_at_once(tmp_path):
    """Workers that have read images exit as soon as they are told, not at graceful_timeout."""
    log = tmp_path / "gunicorn.log"
    env = {"OCR_GRACEFUL_TIMEOUT": str(GRACEFUL_TIMEOUT)}
    with running_gunicorn(workers=2, env=env, log_path=log) as (process, base_url):
        # One request per worker (the accept pause spreads them): each holds live inference sessions.
        with ThreadPoolExecutor(2) as pool:
            assert [answer.status_code for answer in pool.map(post_receipt, [base_url] * 2)] == [200, 200]
        seconds = stop(process)
    assert process.returncode == 0
    assert seconds < GRACEFUL_TIMEOUT / 3, f"idle stop took {seconds:.1f} s"
    # Neither killed at the grace period's end nor aborted on the way out.
    assert "was sent" not in log.read_text()


@pytest.mark.slow
def test_a_request_in_flight_finishes_before_the_service_stops(tmp_path):
    log = tmp_path / "gunicorn.log"
    env = {"OCR_GRACEFUL_TIMEOUT": str(GRACEFUL_TIMEOUT)}
    with running_gunicorn(workers=1, env=env, log_path=log) as (process, base_url), ThreadPoolExecutor(1) as pool:
        answer = pool.submit(post_long_request, base_url)
        time.sleep(0.5)
        stopped_at = time.monotonic()
        seconds = stop(process)
        response, answered_at = answer.result()
    assert answered_at > stopped_at, "the request was not in flight when SIGTERM came"
    assert response.status_code == 200 and response.json()["words_result_num"] > 0
    assert process.returncode == 0 and seconds < GRACEFUL_TIMEOUT
