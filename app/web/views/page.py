"""GET /: a page to try the OCR endpoint in a browser and see every box it finds."""

from flask import Blueprint, current_app, render_template

bp = Blueprint("page", __name__)

# The page loads only its own files; images may come from anywhere the user points the url field at.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src * data: blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@bp.get("/")
def index():
    """Serve the form and the result viewer; the browser calls the API itself."""
    page = render_template(
        "index.html", low_score_threshold=current_app.config["LOW_SCORE_THRESHOLD"]
    )
    return page, 200, {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
