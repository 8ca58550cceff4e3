"""An HTTP client for a manager's model API: TLS, a bearer token, timeouts, retries, exact JSON.

* The base URL must be ``https``; plain ``http`` is refused except to a loopback address (a
  sandbox on this machine). TLS certificates are always verified; redirects are not followed.
* ``token`` is sent as ``Authorization: Bearer ...``; it never appears in a message or a repr.
* 429 (honouring ``Retry-After`` in seconds), 5xx, timeouts and connection errors are retried,
  ``attempts`` tries in all, waiting ``backoff * 2**(try - 1)`` seconds (at most ``max_delay``).
  Every request is safe to repeat (reads, and acknowledgements keyed by model and version).
* Bodies are JSON with numbers read as ``Decimal``. Any failure raises a
  :class:`smartx_engine.DataError` naming the method and the URL.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx

from smartx_engine import DataError

from . import jsontext

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def check_base_url(url: str) -> str:
    """``url`` without a trailing slash, if it is https (or http to loopback); else DataError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DataError(f"the manager API URL {url!r} is not an http(s) URL, e.g. https://models.acme.example/api/v1")
    if parts.username or parts.password:
        raise DataError("the manager API URL must not carry credentials; set the token setting instead")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise DataError(f"refusing plain http to {parts.hostname}: use https (plain http is allowed only to a "
                        f"loopback address such as 127.0.0.1, for a sandbox)")
    return url.rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@attrs.define(eq=False)
class ManagerClient:
    """GET and POST JSON against ``base_url`` (see the module docstring)."""

    base_url: str = attrs.field(converter=check_base_url)
    token: str | None = attrs.field(default=None, repr=False)
    timeout: float = 10.0
    attempts: int = 4
    backoff: float = 0.5
    max_delay: float = 30.0
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    _http: httpx.Client = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        headers = {"Accept": "application/json", "User-Agent": "smartx-models-thirdparty"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._http = httpx.Client(headers=headers, timeout=self.timeout, transport=self.transport, verify=True,
                                  follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The JSON body of ``GET base_url + path``."""
        return self._request("GET", path, params=dict(params or {}))

    def post(self, path: str, body: Any) -> Any:
        """The JSON body (or None when empty) of ``POST base_url + path`` with a JSON ``body``."""
        return self._request("POST", path, content=jsontext.dumps(body),
                             headers={"Content-Type": "application/json"})

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self.url(path)
        what = f"{method} {url}"
        for attempt in range(1, self.attempts + 1):
            delay = None
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TimeoutException as exc:
                problem = f"no answer within {self.timeout:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                problem = f"cannot connect ({type(exc).__name__}: {exc})"
            else:
                if response.is_success:
                    return _json(response, what)
                problem = f"HTTP {response.status_code}{_reason(response)}"
                if response.status_code not in RETRY_STATUSES:
                    raise DataError(f"{what}: {problem}{_advice(response.status_code)}")
                delay = _retry_after(response)
            if attempt == self.attempts:
                raise DataError(f"{what}: {problem}; gave up after {attempt} tries")
            self.sleep(min(self.max_delay, self.backoff * 2 ** (attempt - 1) if delay is None else delay))
        raise AssertionError("unreachable")


def _json(response: httpx.Response, what: str) -> Any:
    if not response.content.strip():
        return None
    try:
        return jsontext.loads(response.content)
    except ValueError as exc:  # JSONDecodeError, a bad constant, text that is not UTF-8
        detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}" if hasattr(exc, "msg") else str(exc)
        raise DataError(f"{what}: the response is not valid JSON ({detail})") from None


def _reason(response: httpx.Response) -> str:
    """The server's message, if it sent a JSON ``{"error": ...}`` or ``{"message": ...}``."""
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("error") or body.get("message") if isinstance(body, dict) else None
    return f": {str(message)[:200]}" if message else ""


def _advice(status: int) -> str:
    if status in (401, 403):
        return " (check the token setting of [models], SMARTX_MODELS_TOKEN)"
    if 300 <= status < 400:
        return " (redirects are not followed: set url to the final address)"
    return ""


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds, or None (absent, or an HTTP date: the backoff applies)."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None
