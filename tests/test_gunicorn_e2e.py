"""The service as `make run` starts it: real gunicorn, deploy/gunicorn.conf.py, real requests."""

import pytest
import requests

from tests.servers import running_gunicorn
from tests.sroie import TEST_RECEIPTS, receipt_path

pytestmark = pytest.mark.slow


def test_gunicorn_serves_a_receipt(tmp_path):
    with running_gunicorn(workers=1, env={"OCR_MODEL_CACHE_DIR": str(tmp_path / "models")}) as (_, base_url):
        assert requests.get(f"{base_url}/healthz", timeout=5).json() == {"status": "ok"}
        ready = requests.get(f"{base_url}/readyz", timeout=5).json()
        assert ready["status"] == "ready" and ready["model_load_seconds"] > 0
        with open(receipt_path("000", TEST_RECEIPTS), "rb") as handle:
            answer = requests.post(
                f"{base_url}/api/v1/image/ocr",
                files={"file": ("000.jpg", handle, "image/jpeg")},
                data={"need_location": "true"},
                timeout=120,
            )
        assert answer.status_code == 200
        result = answer.json()
        assert result["words_result_num"] > 20
        assert "JALAN SAGU" in result["text"].upper()
        assert (tmp_path / "models").is_dir()
