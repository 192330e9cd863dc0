"""Download the image named by the ``url`` field, bounded in time and size."""

import time
from urllib.parse import urlsplit

import requests

from .errors import InvalidUrlError, PayloadTooLargeError, UrlFetchError

CHUNK_BYTES = 64 * 1024


def validate_url(url):
    """Refuse anything but an absolute http(s) url with a host."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidUrlError("The field 'url' must be an http:// or https:// address with a host name.")
    return parts


def fetch_image(url, settings):
    """Return the body at ``url``; stop reading at the image size limit."""
    validate_url(url)
    deadline = time.monotonic() + settings["URL_DEADLINE"]
    limit = settings["MAX_IMAGE_BYTES"]
    try:
        with requests.get(
            url,
            stream=True,
            timeout=(settings["URL_CONNECT_TIMEOUT"], settings["URL_READ_TIMEOUT"]),
            headers={"Accept": "image/*"},
        ) as response:
            if response.status_code != 200:
                raise UrlFetchError(f"The url answered HTTP {response.status_code}; expected 200 with an image.")
            body = bytearray()
            for chunk in response.iter_content(CHUNK_BYTES):
                body += chunk
                if len(body) > limit:
                    raise PayloadTooLargeError(f"The image at the url is larger than {limit} bytes.")
                if time.monotonic() > deadline:
                    raise UrlFetchError("The url took too long to download.")
            return bytes(body)
    except requests.Timeout:
        raise UrlFetchError("The url did not answer in time.") from None
    except requests.RequestException:
        raise UrlFetchError("The url could not be fetched (connection failed).") from None
