"""Fixtures: the real engine (built once per session), apps from the factory, clients."""

import pytest

from app import create_app
from app.config import TestConfig


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    """The real PaddleOCR engine on the embedded models, warmed once for the session."""
    from app.recognition.engine import OcrEngine

    config = TestConfig()
    settings = {name: getattr(config, name) for name in dir(config) if name.isupper()}
    settings["MODEL_CACHE_DIR"] = str(tmp_path_factory.mktemp("models"))
    ocr_engine = OcrEngine(settings)
    ocr_engine.warm_up()
    return ocr_engine


@pytest.fixture
def app(engine):
    return create_app(TestConfig(), engine=engine)


@pytest.fixture
def client(app):
    return app.test_client()


class FakeEngine:
    """Stands in for the engine in error-mapping tests only."""

    ready = True
    load_seconds = 0.0

    def __init__(self, error=None):
        self.error = error

    def recognize(self, pixels, enable_cls=False):
        from app.recognition.engine import Recognition

        if self.error:
            raise self.error
        return Recognition()


@pytest.fixture
def fake_client():
    return create_app(TestConfig(), engine=FakeEngine()).test_client()


@pytest.fixture(scope="session")
def data_http_server():
    """A loopback HTTP server over tests/data, for url input; yields its base url."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from tests.sroie import TEST_DATA

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(TEST_DATA)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
