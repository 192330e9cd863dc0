"""deploy/nginx.conf: valid and matched to the service's limits; in front of real gunicorn, OCR
through it, request ids, and nginx's own errors as JSON."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from contextlib import contextmanager

import pytest
import requests

from app.config import Config
from tests.servers import ROOT, free_port, running_gunicorn
from tests.sroie import TEST_RECEIPTS, receipt_path
from tests.test_gunicorn_config import environ, load_config  # noqa: F401 (environ is a fixture)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
OCR_PATH = "/api/v1/image/ocr"
NGINX_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
MIB = 1024 * 1024


def server_block(listen, upstream):
    """deploy/nginx.conf filled by envsubst, with the command its header gives."""
    filled = subprocess.run(
        ["envsubst", "$OCR_LISTEN $OCR_UPSTREAM"],
        input=NGINX_CONF.read_text(),
        env={"OCR_LISTEN": listen, "OCR_UPSTREAM": upstream},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "${" not in filled, "deploy/nginx.conf has a placeholder its header does not name"
    return filled


def write_nginx_prefix(prefix, listen, upstream):
    """A minimal nginx.conf that includes the server block, everything under ``prefix``."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "ocr.conf").write_text(server_block(listen, upstream))
    (prefix / "nginx.conf").write_text(
        f"""
        daemon off;
        worker_processes 1;
        pid {prefix}/nginx.pid;
        error_log {prefix}/error.log warn;
        events {{ worker_connections 64; }}
        http {{
            access_log {prefix}/access.log;
            client_body_temp_path {prefix}/client_body;
            proxy_temp_path {prefix}/proxy;
            fastcgi_temp_path {prefix}/fastcgi;
            uwsgi_temp_path {prefix}/uwsgi;
            scgi_temp_path {prefix}/scgi;
            include {prefix}/ocr.conf;
        }}
        """
    )
    # As root, nginx's workers would switch to "nobody", who cannot write the prefix.
    user = ["-g", "user root;"] if os.geteuid() == 0 else []
    return [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log"), *user]


def directive(name):
    """The value of a directive that appears once in deploy/nginx.conf."""
    (value,) = re.findall(rf"^\s*{name}\s+([^;]+);", NGINX_CONF.read_text(), re.MULTILINE)
    return value


def seconds(value):
    return int(value.removesuffix("s"))


def test_nginx_accepts_the_server_block(tmp_path):
    command = write_nginx_prefix(tmp_path, "127.0.0.1:8080", "127.0.0.1:8000")
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_body_limit_lets_through_what_the_service_accepts():
    limit_mib = int(directive("client_max_body_size").removesuffix("m"))
    accepted = Config().MAX_CONTENT_LENGTH  # a 10 MB image as Base64, plus the form
    # Never below the service's own limit, and not far above it either.
    assert accepted <= limit_mib * MIB < accepted + MIB


def test_nginx_waits_longer_than_the_service(environ):
    gunicorn, _ = load_config()
    assert seconds(directive("proxy_read_timeout")) > gunicorn.timeout > Config.REQUEST_DEADLINE


@contextmanager
def running_nginx(upstream, prefix):
    """Run nginx in the foreground with a temporary prefix; yield its base url."""
    port = free_port()
    command = write_nginx_prefix(prefix, f"127.0.0.1:{port}", upstream)
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_port(port, process, prefix / "error.log")
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port, process, error_log):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {error_log.read_text() if error_log.exists() else ''}")
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise TimeoutError("nginx did not listen")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Real gunicorn (deploy/gunicorn.conf.py, one worker) behind real nginx (deploy/nginx.conf)."""
    directory = tmp_path_factory.mktemp("nginx-stack")
    gunicorn_log = directory / "gunicorn.log"
    env = {"OCR_MODEL_CACHE_DIR": str(directory / "models")}
    with running_gunicorn(workers=1, env=env, log_path=gunicorn_log) as (_, gunicorn_url):
        with running_nginx(gunicorn_url.removeprefix("http://"), directory / "nginx") as nginx_url:
            yield {"nginx": nginx_url, "gunicorn": gunicorn_url, "log": gunicorn_log}


def access_entries(log_path, request_id):
    """The JSON access log lines gunicorn wrote so far for ``request_id``."""
    entries = []
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") == "access" and entry["request_id"] == request_id:
                entries.append(entry)
    return entries


def logged_entries(log_path, request_id):
    """Wait for gunicorn's access line of a request it answered (it is written after the answer)."""
    deadline = time.monotonic() + 10
    while not (entries := access_entries(log_path, request_id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return entries


def never_reached_gunicorn(stack, request_id):
    """True if gunicorn logged nothing for ``request_id`` by the time a later request was logged."""
    marker = f"marker-{uuid.uuid4().hex}"
    requests.get(stack["nginx"] + "/healthz", headers={"X-Request-ID": marker}, timeout=10)
    assert logged_entries(stack["log"], marker)
    return not access_entries(stack["log"], request_id)


def post_receipt(base_url, headers=None):
    with open(receipt_path("000", TEST_RECEIPTS), "rb") as handle:
        return requests.post(
            base_url + OCR_PATH,
            files={"file": ("000.jpg", handle, "image/jpeg")},
            headers=headers,
            timeout=180,
        )


def assert_json_error(answer, status, code):
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"code", "message"} and body["code"] == code
    assert body["message"]


@pytest.mark.slow
def test_ocr_through_nginx_matches_gunicorn_and_gets_an_id(stack):
    through_nginx = post_receipt(stack["nginx"])
    direct = post_receipt(stack["gunicorn"])
    assert through_nginx.status_code == direct.status_code == 200
    assert through_nginx.json()["words_result_num"] > 20
    words = lambda answer: [item["words"] for item in answer.json()["words_result"]]
    assert words(through_nginx) == words(direct)

    request_id = through_nginx.headers["X-Request-ID"]
    assert NGINX_REQUEST_ID.match(request_id)
    served = logged_entries(stack["log"], request_id)
    assert [(e["path"], e["status"]) for e in served] == [(OCR_PATH, 200)]


@pytest.mark.slow
def test_client_request_id_flows_through_to_gunicorn(stack):
    answer = requests.get(stack["nginx"] + "/readyz", headers={"X-Request-ID": "client-42.a:b"}, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["X-Request-ID"] == "client-42.a:b"
    assert [e["path"] for e in logged_entries(stack["log"], "client-42.a:b")] == ["/readyz"]


@pytest.mark.slow
def test_request_id_that_is_not_an_id_is_replaced(stack):
    answer = requests.get(stack["nginx"] + "/healthz", headers={"X-Request-ID": 'x" injected=1'}, timeout=10)
    assert answer.status_code == 200
    made = answer.headers["X-Request-ID"]
    assert NGINX_REQUEST_ID.match(made)
    assert [e["path"] for e in logged_entries(stack["log"], made)] == ["/healthz"]
    assert never_reached_gunicorn(stack, 'x" injected=1')


@pytest.mark.slow
def test_oversized_body_gets_nginx_413_as_json(stack):
    body = b"0" * (16 * 1024 * 1024)
    answer = requests.post(
        stack["nginx"] + OCR_PATH,
        data=body,
        headers={"Content-Type": "multipart/form-data; boundary=x", "X-Request-ID": "too-big-1"},
        timeout=60,
    )
    assert_json_error(answer, 413, "REQUEST_TOO_LARGE")
    assert answer.headers["X-Request-ID"] == "too-big-1"
    # nginx refused it: the worker never saw the request.
    assert never_reached_gunicorn(stack, "too-big-1")


@pytest.mark.slow
def test_service_errors_pass_through_unchanged(stack):
    answer = requests.post(stack["nginx"] + OCR_PATH, data={"url": "ftp://example.com/a.png"}, timeout=10)
    assert_json_error(answer, 400, "INVALID_URL")


@pytest.mark.slow
def test_gunicorn_stopped_gives_json_503(tmp_path):
    # A gunicorn of its own (no engine needed) so stopping it spoils no other test.
    with running_gunicorn(workers=1, env={"OCR_LOAD_ENGINE": "0"}, ready_path="/healthz") as (process, gunicorn_url):
        with running_nginx(gunicorn_url.removeprefix("http://"), tmp_path / "nginx") as nginx_url:
            assert requests.get(nginx_url + "/healthz", timeout=10).json() == {"status": "ok"}
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
            answer = requests.get(nginx_url + "/healthz", headers={"X-Request-ID": "after-stop"}, timeout=10)
            assert_json_error(answer, 503, "SERVICE_UNAVAILABLE")
            assert answer.headers["X-Request-ID"] == "after-stop"
            assert answer.headers["Retry-After"] == "5"
