"""The url source: no way into internal networks, bounded in time and size, real servers on loopback.

The tests run their own HTTP and HTTPS servers on 127.0.0.1 and reach them only
through the allow-list, after showing that the default settings refuse them.
"""

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app import create_app
from app.config import TestConfig
from app.inputs.url_fetcher import UrlPolicy, is_public_address
from tests.hostile_inputs import OCR, WORD, encode, text_image
from tests.servers import free_port

PAGE = encode(text_image(), "PNG")


class Handler(BaseHTTPRequestHandler):
    """Routes that behave like good, slow, large, broken and redirecting image servers."""

    def do_GET(self):
        self.server.seen.append((self.path, self.headers.get("Host")))
        path, query = urlsplit(self.path).path, parse_qs(urlsplit(self.path).query)
        if path == "/page.png":
            self._send(200, PAGE, "image/png")
        elif path.startswith("/hop/"):
            left = int(path.rsplit("/", 1)[1])
            self._redirect(f"/hop/{left - 1}" if left > 1 else "/page.png")  # /hop/N: N redirects
        elif path == "/to":
            self._redirect(query["location"][0])
        elif path == "/missing":
            self._send(404, b"not here", "text/plain")
        elif path == "/huge-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
            time.sleep(3)  # sends nothing: only the declared length can decide
        elif path == "/huge-streamed":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self._write_slowly(b"\0" * 65536, times=40, pause=0)
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self._write_slowly(b"x" * 10, times=50, pause=0.2)
        elif path == "/stall":
            time.sleep(3)
        else:
            self._send(404, b"", "text/plain")

    def _send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _write_slowly(self, chunk, times, pause):
        try:
            for _ in range(times):
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass  # the fetcher hung up, as it should

    def log_message(self, *args):
        pass


@contextmanager
def image_server(tls_context=None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.seen = []
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def http_server():
    with image_server() as server:
        yield server


def make_client(engine, **settings):
    config = TestConfig()
    for name, value in settings.items():
        setattr(config, name, value)
    return create_app(config, engine=engine).test_client()


def fetch(client, url):
    answer = client.post(OCR, data={"url": url})
    return answer.status_code, answer.get_json()


@pytest.fixture
def open_client(engine, http_server):
    """The loopback server's port allowed and 127.0.0.0/8 on the allow-list."""
    return make_client(
        engine, URL_ALLOWED_PORTS=[http_server.server_port], URL_ALLOWLIST=["127.0.0.0/8"], MAX_IMAGE_BYTES=200_000
    )


def test_default_settings_refuse_the_loopback_server(engine, http_server):
    port = http_server.server_port
    closed = make_client(engine, URL_ALLOWED_PORTS=[port])  # only the port opened, no allow-list
    seen_before = len(http_server.seen)
    status, body = fetch(closed, f"http://127.0.0.1:{port}/page.png")
    assert (status, body["code"]) == (400, "URL_NOT_ALLOWED")
    status, body = fetch(closed, f"http://localhost:{port}/page.png")
    assert (status, body["code"]) == (400, "URL_NOT_ALLOWED")
    assert "127.0.0.1" not in body["message"]  # what the name resolved to is not revealed
    assert len(http_server.seen) == seen_before  # refused before any connection


def test_allowlisted_network_is_fetched_and_read(open_client, http_server):
    status, body = fetch(open_client, f"http://127.0.0.1:{http_server.server_port}/page.png")
    assert status == 200 and WORD in body["text"]
    assert http_server.seen[-1] == ("/page.png", f"127.0.0.1:{http_server.server_port}")


def test_allowlisted_name_covers_that_name_only_even_after_a_redirect(engine, http_server):
    port = http_server.server_port
    client = make_client(engine, URL_ALLOWED_PORTS=[port], URL_ALLOWLIST=["localhost"])
    status, body = fetch(client, f"http://localhost:{port}/page.png")
    assert status == 200 and WORD in body["text"]
    assert http_server.seen[-1] == ("/page.png", f"localhost:{port}")
    # The same server by address is not on the list, so a redirect there is refused.
    status, body = fetch(client, f"http://localhost:{port}/to?location=http://127.0.0.1:{port}/page.png")
    assert (status, body["code"]) == (400, "URL_NOT_ALLOWED")


def test_three_redirects_are_followed_and_a_fourth_is_not(open_client, http_server):
    base = f"http://127.0.0.1:{http_server.server_port}"
    status, body = fetch(open_client, f"{base}/hop/3")
    assert status == 200 and WORD in body["text"]
    status, body = fetch(open_client, f"{base}/hop/4")
    assert (status, body["code"]) == (502, "URL_FETCH_FAILED")
    assert "more than 3" in body["message"]


@pytest.mark.parametrize(
    "location, status, code",
    [
        ("http://169.254.169.254/latest/meta-data/", 400, "URL_NOT_ALLOWED"),
        ("http://[::1]/", 400, "URL_NOT_ALLOWED"),
        ("http://10.0.0.1/", 400, "URL_NOT_ALLOWED"),
        ("ftp://127.0.0.1/page.png", 400, "INVALID_URL"),
        ("file:///etc/passwd", 400, "INVALID_URL"),
    ],
)
def test_every_redirect_target_is_checked(open_client, http_server, location, status, code):
    answer = fetch(open_client, f"http://127.0.0.1:{http_server.server_port}/to?location={location}")
    assert (answer[0], answer[1]["code"]) == (status, code)


def test_a_port_outside_the_allowed_ones_is_refused(engine, http_server):
    client = make_client(engine, URL_ALLOWLIST=["127.0.0.0/8"])  # default ports 80 and 443
    status, body = fetch(client, f"http://127.0.0.1:{http_server.server_port}/page.png")
    assert (status, body["code"]) == (400, "URL_NOT_ALLOWED")
    assert str(http_server.server_port) in body["message"]


@pytest.mark.parametrize(
    "path, status, code, says",
    [
        ("/missing", 502, "URL_FETCH_FAILED", "http 404"),
        ("/huge-declared", 413, "IMAGE_TOO_LARGE", "200000 bytes"),
        ("/huge-streamed", 413, "IMAGE_TOO_LARGE", "200000 bytes"),
    ],
)
def test_error_status_and_size_limits(open_client, http_server, path, status, code, says):
    answer = fetch(open_client, f"http://127.0.0.1:{http_server.server_port}{path}")
    assert (answer[0], answer[1]["code"]) == (status, code)
    assert says in answer[1]["message"].lower()


def test_odd_characters_in_the_path_are_sent_percent_encoded(open_client, http_server):
    status, body = fetch(open_client, f"http://127.0.0.1:{http_server.server_port}/pagé 1.png?q=a b")
    assert (status, body["code"]) == (502, "URL_FETCH_FAILED")  # the server has no such file
    assert http_server.seen[-1][0] == "/pag%C3%A9%201.png?q=a%20b"


@pytest.mark.parametrize(
    "path, limit, says",
    [
        ("/trickle", {"URL_DEADLINE": 1.0}, "within 1 s"),  # bytes keep coming, too slowly
        ("/stall", {"URL_READ_TIMEOUT": 0.5}, "did not answer"),  # nothing comes at all
    ],
    ids=["total deadline", "read timeout"],
)
def test_slow_servers_are_cut_off(engine, http_server, path, limit, says):
    port = http_server.server_port
    client = make_client(engine, URL_ALLOWED_PORTS=[port], URL_ALLOWLIST=["127.0.0.0/8"], **limit)
    status, body = fetch(client, f"http://127.0.0.1:{port}{path}")
    assert (status, body["code"]) == (502, "URL_FETCH_FAILED")
    assert says in body["message"]


def test_unreachable_and_unknown_hosts_are_502(engine):
    port = free_port()  # nothing listens there
    client = make_client(engine, URL_ALLOWED_PORTS=[port], URL_ALLOWLIST=["127.0.0.0/8"])
    status, body = fetch(client, f"http://127.0.0.1:{port}/page.png")
    assert (status, body["code"]) == (502, "URL_FETCH_FAILED")
    status, body = fetch(client, f"http://no-such-host.invalid:{port}/page.png")
    assert (status, body["code"]) == (502, "URL_FETCH_FAILED")


def test_the_checked_address_is_the_one_connected_to(engine, http_server, monkeypatch):
    """A rebinding resolver answers loopback (allowed here) once, then an address that must never be dialled."""
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def rebinding_getaddrinfo(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "10.255.255.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    port = http_server.server_port
    client = make_client(engine, URL_ALLOWED_PORTS=[port], URL_ALLOWLIST=["127.0.0.0/8"], URL_CONNECT_TIMEOUT=1.0)
    status, body = fetch(client, f"http://rebind.test:{port}/page.png")
    assert status == 200 and WORD in body["text"]
    assert lookups == ["rebind.test"]  # one lookup, and the connection went to its answer
    assert http_server.seen[-1] == ("/page.png", f"rebind.test:{port}")


# Internal addresses in every spelling, and ports other than 80 and 443: refused.
REFUSED_URLS = [
    ("http://127.0.0.1/", "URL_NOT_ALLOWED"),
    ("http://127.1/", "URL_NOT_ALLOWED"),
    ("http://2130706433/", "URL_NOT_ALLOWED"),
    ("http://0x7f000001/", "URL_NOT_ALLOWED"),
    ("http://0177.0.0.1/", "URL_NOT_ALLOWED"),
    ("http://0x7f.1/", "URL_NOT_ALLOWED"),
    ("http://0/", "URL_NOT_ALLOWED"),
    ("http://0.0.0.0/", "URL_NOT_ALLOWED"),
    ("http://localhost/", "URL_NOT_ALLOWED"),
    ("http://LOCALHOST./", "URL_NOT_ALLOWED"),
    ("http://user@127.0.0.1/", "URL_NOT_ALLOWED"),
    ("http://[::1]/", "URL_NOT_ALLOWED"),
    ("http://[::]/", "URL_NOT_ALLOWED"),
    ("http://[::ffff:127.0.0.1]/", "URL_NOT_ALLOWED"),
    ("http://[::ffff:7f00:1]/", "URL_NOT_ALLOWED"),
    ("http://[::ffff:8.8.8.8]/", "URL_NOT_ALLOWED"),
    ("http://[::127.0.0.1]/", "URL_NOT_ALLOWED"),
    ("http://[fc00::1]/", "URL_NOT_ALLOWED"),
    ("http://[fd12:3456:789a::1]/", "URL_NOT_ALLOWED"),
    ("http://[fe80::1]/", "URL_NOT_ALLOWED"),
    ("http://[fe80::1%25eth0]/", "URL_NOT_ALLOWED"),
    ("http://[ff02::1]/", "URL_NOT_ALLOWED"),
    ("http://[64:ff9b::7f00:1]/", "URL_NOT_ALLOWED"),
    ("http://[2002:7f00:1::1]/", "URL_NOT_ALLOWED"),
    ("http://[2001:db8::1]/", "URL_NOT_ALLOWED"),
    ("http://10.1.2.3/", "URL_NOT_ALLOWED"),
    ("http://172.16.0.1/", "URL_NOT_ALLOWED"),
    ("http://192.168.0.1/", "URL_NOT_ALLOWED"),
    ("http://169.254.169.254/latest/meta-data/", "URL_NOT_ALLOWED"),
    ("https://169.254.169.254/", "URL_NOT_ALLOWED"),
    ("http://100.64.0.1/", "URL_NOT_ALLOWED"),
    ("http://100.127.255.254/", "URL_NOT_ALLOWED"),
    ("http://224.0.0.1/", "URL_NOT_ALLOWED"),
    ("http://239.255.255.250/", "URL_NOT_ALLOWED"),
    ("http://240.0.0.1/", "URL_NOT_ALLOWED"),
    ("http://255.255.255.255/", "URL_NOT_ALLOWED"),
    ("http://192.0.0.8/", "URL_NOT_ALLOWED"),
    ("http://198.18.0.1/", "URL_NOT_ALLOWED"),
    ("http://192.0.2.1/", "URL_NOT_ALLOWED"),
    ("http://example.com:22/", "URL_NOT_ALLOWED"),
    ("http://example.com:6379/", "URL_NOT_ALLOWED"),
    ("https://example.com:8443/", "URL_NOT_ALLOWED"),
    # Not an http(s) url with a host at all.
    ("ftp://example.com/a.png", "INVALID_URL"),
    ("file:///etc/passwd", "INVALID_URL"),
    ("gopher://127.0.0.1:70/", "INVALID_URL"),
    ("javascript:alert(1)", "INVALID_URL"),
    ("http:///a.png", "INVALID_URL"),
    ("http://[::1/", "INVALID_URL"),
    ("http://example.com:99999/", "INVALID_URL"),
    ("http://exa mple.com/", "INVALID_URL"),
    ("http://[1.2.3]/", "INVALID_URL"),
    ("//example.com/a.png", "INVALID_URL"),
]


@pytest.mark.parametrize("url, code", REFUSED_URLS)
def test_urls_that_must_not_be_fetched_are_refused(client, url, code):
    status, body = fetch(client, url)
    assert (status, body["code"]) == (400, code)
    # The message explains the rule without echoing what the host resolved to.
    assert "127.0.0.1" not in body["message"] and "::" not in body["message"]


@pytest.mark.parametrize(
    "address, public",
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2606:4700:4700::1111", True),
        ("64:ff9b::808:808", True),  # NAT64 to a public address
        ("2002:808:808::1", True),  # 6to4 of a public address
        ("100.64.0.1", False),
        ("64:ff9b::a00:1", False),  # NAT64 to 10.0.0.1
        ("::ffff:8.8.8.8", False),  # IPv4-mapped: refused whatever it maps
        ("fd00::1", False),
    ],
)
def test_public_address_rule(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_allowlist_entries_are_networks_names_and_domains():
    policy = UrlPolicy([80], ["10.20.0.0/16", "store.internal", ".images.corp"])
    assert policy.allows("anything", ipaddress.ip_address("10.20.3.4"))
    assert policy.allows("store.internal", ipaddress.ip_address("10.9.9.9"))
    assert policy.allows("a.images.corp", ipaddress.ip_address("192.168.1.1"))
    assert not policy.allows("images.corp.evil", ipaddress.ip_address("192.168.1.1"))
    assert not policy.allows("other.internal", ipaddress.ip_address("10.9.9.9"))


# --- https: SNI and the certificate name go with the url's host, not the dialled address ---


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A test CA and a certificate for the name "localhost" only (no IP address in it)."""
    directory = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ocr test ca")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(1).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(2)
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "leaf.pem").write_bytes(
        leaf.public_bytes(pem)
        + leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return directory


@pytest.fixture(scope="module")
def https_server(tls_files):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files / "leaf.pem")
    names = []
    context.sni_callback = lambda connection, name, context: names.append(name)
    with image_server(context) as server:
        server.sni_names = names
        yield server


def test_https_sends_the_host_name_as_sni_and_checks_the_certificate_against_it(engine, https_server, tls_files):
    port = https_server.server_port
    client = make_client(
        engine, URL_ALLOWED_PORTS=[port], URL_ALLOWLIST=["localhost"], URL_CA_BUNDLE=str(tls_files / "ca.pem")
    )
    status, body = fetch(client, f"https://localhost:{port}/page.png")
    assert status == 200 and WORD in body["text"]
    assert https_server.sni_names[-1] == "localhost"
    assert https_server.seen[-1] == ("/page.png", f"localhost:{port}")


def test_https_refuses_a_certificate_for_another_name_or_an_untrusted_ca(engine, https_server, tls_files):
    port = https_server.server_port
    ca_bundle = str(tls_files / "ca.pem")
    by_address = make_client(engine, URL_ALLOWED_PORTS=[port], URL_ALLOWLIST=["127.0.0.0/8"], URL_CA_BUNDLE=ca_bundle)
    status, body = fetch(by_address, f"https://127.0.0.1:{port}/page.png")  # the certificate names localhost only
    assert (status, body["code"]) == (502, "URL_FETCH_FAILED") and "certificate" in body["message"]
    default_trust = make_client(engine, URL_ALLOWED_PORTS=[port], URL_ALLOWLIST=["localhost"])
    status, body = fetch(default_trust, f"https://localhost:{port}/page.png")
    assert (status, body["code"]) == (502, "URL_FETCH_FAILED") and "certificate" in body["message"]
