"""Download the image named by the ``url`` field without opening a way into the internal network.

Every hop, the first and each redirect, passes the same checks: http or https,
an allowed port, and a host whose every address is public (or on the operator's
allow-list). The connection then goes to the address that was checked, so a
resolver that answers differently a second time (DNS rebinding) is never asked
again; the original host name is still sent as Host header, TLS SNI and the name
the certificate must carry. Time and size are bounded while the body streams.
"""

import ipaddress
import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3
from requests.certs import where as ca_bundle_path

from app.web.errors import (
    InvalidUrlError,
    PayloadTooLargeError,
    UrlFetchError,
    UrlNotAllowedError,
)

CHUNK_BYTES = 64 * 1024
# Far above any real image link (signed links run to a few kilobytes).
MAX_URL_CHARS = 8192
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
# IPv4-compatible IPv6 (::a.b.c.d, deprecated but still routed by some stacks).
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# NAT64's well-known prefix: a gateway turns it into the IPv4 address in its low bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Not globally reachable per the IANA registries, though Python 3.11 calls them global.
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(network) for network in ("192.0.0.0/24", "3fff::/20", "5f00::/16")
)

_NOT_PUBLIC = (
    "The url's host is not a public internet address; this service does not fetch "
    "from private, loopback or link-local networks."
)


@dataclass(frozen=True)
class Target:
    """One checked hop: where to connect and what to tell the server."""

    url: str
    scheme: str
    host: str  # lower-case, without brackets or trailing dot
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple  # the checked addresses, in resolver order

    @property
    def host_header(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def is_literal(self):
        return literal_address(self.host) is not None


class UrlPolicy:
    """Which ports and addresses may be fetched: public ones, plus the allow-list."""

    def __init__(self, allowed_ports, allowlist):
        self.allowed_ports = set(allowed_ports)
        self.networks, self.names = [], set()
        for entry in allowlist:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names.add(entry.lower().rstrip("."))

    def check(self, url):
        """Parse and resolve ``url``; raise unless every address it names may be fetched."""
        parts = _split(url)
        scheme, host = parts.scheme.lower(), _normalise_host(parts.hostname)
        port = parts.port or DEFAULT_PORTS[scheme]
        if port not in self.allowed_ports:
            raise UrlNotAllowedError(
                f"The url's port {port} is not allowed; this service fetches from ports "
                f"{', '.join(str(p) for p in sorted(self.allowed_ports))}."
            )
        addresses = resolve(host, port)
        if not all(self.allows(host, address) for address in addresses):
            raise UrlNotAllowedError(_NOT_PUBLIC)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return Target(url, scheme, host, port, path, addresses)

    def allows(self, host, address):
        """Whether ``host``, resolved to ``address``, may be fetched."""
        if is_public_address(address) or any(address in network for network in self.networks):
            return True
        # A name entry "store.internal" allows that host; ".internal" allows every host under it.
        return host in self.names or any(name.startswith(".") and host.endswith(name) for name in self.names)


def fetch_image(url, settings):
    """Return the body at ``url``, following at most the allowed number of checked redirects."""
    policy = UrlPolicy(settings["URL_ALLOWED_PORTS"], settings["URL_ALLOWLIST"])
    deadline = time.monotonic() + settings["URL_DEADLINE"]
    for _hop in range(settings["URL_MAX_REDIRECTS"] + 1):
        target = policy.check(url)
        response = _open(target, settings, deadline)
        try:
            if response.status in REDIRECT_STATUSES:
                location = response.headers.get("Location")
                if not location:
                    raise UrlFetchError(f"The url answered HTTP {response.status} without a Location to follow.")
                url = urljoin(target.url, location.strip())
                continue
            if response.status != 200:
                raise UrlFetchError(f"The url answered HTTP {response.status}; expected 200 with an image.")
            return _read_body(response, settings, deadline)
        finally:
            response.close()
    raise UrlFetchError(
        f"The url redirected more than {settings['URL_MAX_REDIRECTS']} times; link the image itself."
    )


def is_public_address(address):
    """Whether ``address`` is on the public internet: no internal, special or tunnelled-internal range."""
    if address.version == 6:
        # IPv4 in IPv6 clothing: mapped and compatible forms reach the host's own IPv4
        # stack, so they are refused; NAT64 and 6to4 are judged by the IPv4 they reach.
        if address.ipv4_mapped or address in _IPV4_COMPATIBLE:
            return False
        if address in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and not is_public_address(address.sixtofour):
            return False
    if any(address in network for network in _NOT_GLOBAL if network.version == address.version):
        return False
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    )


def literal_address(host):
    """Read ``host`` as an IP address, including the legacy IPv4 spellings resolvers accept.

    ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` and ``127.1`` all mean 127.0.0.1 to
    ``inet_aton``; reading them here means they are judged as the address they are.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def resolve(host, port):
    """Every address ``host`` names, literal or looked up once."""
    literal = literal_address(host)
    if literal is not None:
        return (literal,)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UrlFetchError("The url's host name could not be resolved.") from None
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        # Scoped IPv6 answers carry "%zone"; the address part is what is judged.
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UrlFetchError("The url's host name could not be resolved.")
    return tuple(addresses)


def _split(url):
    if len(url) > MAX_URL_CHARS:
        raise InvalidUrlError(f"The url is longer than {MAX_URL_CHARS} characters; link the image directly.")
    try:
        parts = urlsplit(url)
        parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidUrlError("The field 'url' must be an http:// or https:// address with a host name.")
    return parts


def _normalise_host(hostname):
    host = hostname.rstrip(".")
    if ":" in host:  # an IPv6 literal; urlsplit already removed the brackets
        if literal_address(host) is None:
            raise InvalidUrlError("The url's host is not a valid IPv6 address.")
        return host
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidUrlError("The url's host is not a valid host name.") from None
    if not _HOST_NAME.fullmatch(host):
        raise InvalidUrlError("The url's host is not a valid host name.")
    return host


def _open(target, settings, deadline):
    """Send the GET to the first checked address that accepts a connection."""
    last_error = None
    for address in target.addresses:
        remaining = _remaining(deadline, settings)
        timeout = urllib3.Timeout(
            connect=min(settings["URL_CONNECT_TIMEOUT"], remaining),
            read=min(settings["URL_READ_TIMEOUT"], remaining),
        )
        pool = _pool(target, str(address), timeout, settings["URL_CA_BUNDLE"] or ca_bundle_path())
        try:
            return pool.urlopen(
                "GET",
                target.path,
                headers={
                    "Host": target.host_header,
                    "Accept": "image/*, application/pdf",
                    # Compressed bodies could inflate past the byte cap in one read.
                    "Accept-Encoding": "identity",
                    "User-Agent": "ocr-service",
                },
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.NewConnectionError as error:
            last_error = error  # this address is down; another of the same host may answer
        except urllib3.exceptions.SSLError:
            raise UrlFetchError("The url's TLS certificate could not be verified for its host name.") from None
        except (urllib3.exceptions.TimeoutError, socket.timeout):
            raise UrlFetchError(f"The url did not answer within {settings['URL_READ_TIMEOUT']:g} s.") from None
        except (urllib3.exceptions.HTTPError, OSError):
            raise UrlFetchError("The url could not be fetched (the connection failed).") from None
    raise UrlFetchError("The url could not be reached (connection refused or no route).") from last_error


def _pool(target, address, timeout, ca_bundle):
    common = dict(timeout=timeout, retries=False, maxsize=1)
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(address, target.port, **common)
    # The checked address is dialled; SNI and the certificate check use the url's host.
    # An IP-literal url has no name to send as SNI and is checked against the IP itself.
    name = None if target.is_literal else target.host
    return urllib3.HTTPSConnectionPool(
        address,
        target.port,
        server_hostname=name,
        assert_hostname=name,
        cert_reqs="CERT_REQUIRED",
        ca_certs=ca_bundle,
        **common,
    )


def _read_body(response, settings, deadline):
    limit = settings["MAX_IMAGE_BYTES"]
    too_large = f"The image at the url is larger than {limit} bytes; link a smaller image."
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(too_large)
    body = bytearray()
    try:
        while True:
            # Each wait for data may last only as long as the total deadline leaves.
            _limit_read_wait(response, min(settings["URL_READ_TIMEOUT"], _remaining(deadline, settings)))
            chunk = response.read1(CHUNK_BYTES)
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > limit:
                raise PayloadTooLargeError(too_large)
    except (urllib3.exceptions.TimeoutError, socket.timeout):
        raise UrlFetchError(f"The url did not finish sending within {settings['URL_DEADLINE']:g} s.") from None
    except (urllib3.exceptions.HTTPError, OSError):
        raise UrlFetchError("The url's connection broke while the image was downloading.") from None


def _remaining(deadline, settings):
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise UrlFetchError(f"The url did not finish sending within {settings['URL_DEADLINE']:g} s.")
    return remaining


def _limit_read_wait(response, seconds):
    connection = response.connection
    if connection is not None and connection.sock is not None:
        connection.sock.settimeout(seconds)
