"""OCR microservice: the app factory is the only way to build the app."""

import logging

from flask import Flask
from PIL import Image

from app.config import Config
from app.web import admission, metrics, request_log
from app.web.errors import register_error_handlers


def create_app(config=None, engine=None):
    """Build the app; build and warm the engine unless one is handed in or loading is off."""
    app = Flask(__name__)
    app.config.from_object(config or Config())
    # Keep the documented field order of the result object.
    app.json.sort_keys = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Pillow's decompression-bomb guard, at our pixel limit.
    Image.MAX_IMAGE_PIXELS = app.config["MAX_IMAGE_PIXELS"]

    if engine is None and app.config["LOAD_ENGINE"]:
        from app.recognition.engine import OcrEngine

        engine = OcrEngine(app.config)
        engine.warm_up()
        app.logger.info("OCR engine ready: model load %.2f s", engine.load_seconds)
    app.extensions["ocr_engine"] = engine

    register_error_handlers(app)
    metrics.init_app(app)
    request_log.init_app(app)
    admission.init_app(app)
    from app.web.views import health, meta, ocr, page

    app.register_blueprint(health.bp)
    app.register_blueprint(ocr.bp)
    app.register_blueprint(meta.bp)
    app.register_blueprint(page.bp)
    return app
