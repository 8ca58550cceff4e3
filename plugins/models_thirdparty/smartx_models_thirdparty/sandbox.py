"""A loopback model manager: the manager API of the plugin's README, seeded, in a thread.

::

    with ManagerSandbox() as sandbox:            # http://127.0.0.1:PORT/api/v1, an ephemeral port
        feed = ModelHttpFeed(url=sandbox.base_url)
        feed.deliveries()                        # the seed: GRO-80-20 (FULL, then a DELTA), INC-30-70
        sandbox.publish(notice)                  # a new revision (a JSON notice, or a ModelDelivery)
        sandbox.fail_next("429")                 # the next request is refused once (Retry-After)
        sandbox.acks                             # every acknowledgement received

The seed (:func:`seed_notices`) is Acme Asset Mgmt's ``GRO-80-20`` and ``INC-30-70`` models, the
demo firm's, with the CUSIPs of real ETFs. Faults: ``"500"``, ``"429"`` (with ``Retry-After``) and
``"malformed"`` (a 200 whose JSON is cut in half). With ``token``, every request must carry
``Authorization: Bearer TOKEN`` (else 401). :func:`write_model_files` writes notices as canonical
CSV files, one per version, for the file feed.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from smartx_engine import DataError, ModelDelivery

from . import jsontext
from .checksum import Weights, weights_after
from .csvformat import write_model_file
from .notices import notice_json, parse_notices

API_ROOT = "/api/v1"
FAULTS = ("500", "429", "malformed")
MANAGER = "Acme Asset Mgmt"

# ---------------------------------------------------------------------------
# The seed
# ---------------------------------------------------------------------------

#: ticker -> CUSIP of the ETFs the seed's models hold
CUSIPS = {
    "VTI": "922908769", "ITOT": "464287150", "SCHB": "808524102", "QQQ": "46090E103", "SCHD": "808524797",
    "VEA": "921943858", "VWO": "922042858", "BND": "921937835", "AGG": "464287226", "TIP": "464287176",
    "LQD": "464287242", "VTEB": "922907746", "VNQ": "922908553", "GLD": "78463V107",
}


def _identifier(ticker: str) -> dict[str, str]:
    return {"type": "CUSIP", "value": CUSIPS[ticker]}


def _full_line(ticker: str, weight: str) -> dict[str, Any]:
    """A FULL line with a band either side: 0.02 for a weight of 0.10 or more, else 0.01."""
    w = Decimal(weight)
    band = Decimal("0.02") if w >= Decimal("0.10") else Decimal("0.01")
    return {"identifier": _identifier(ticker), "ticker": ticker, "weight": w, "min_weight": w - band,
            "max_weight": w + band}


def _full(model_id: str, name: str, version: str, effective: str, published: str,
          weights: Mapping[str, str], cash: str) -> dict[str, Any]:
    return {"model_id": model_id, "model_name": name, "manager": MANAGER, "version": version,
            "effective_date": effective, "published_at": published, "change_type": "FULL",
            "lines": [_full_line(t, w) for t, w in weights.items()], "cash_weight": Decimal(cash),
            "checksum_sum_of_weights": Decimal("1.0000")}


def seed_notices() -> list[dict[str, Any]]:
    """Acme's notices, oldest first: GRO-80-20 2026.1 (FULL) and 2026.2 (DELTA), INC-30-70 2026.1."""
    return [
        _full("GRO-80-20", "Growth 80/20", "2026.1", "2026-01-02", "2025-12-30T22:00:00Z",
              {"ITOT": "0.42", "QQQ": "0.10", "VEA": "0.18", "VWO": "0.08", "AGG": "0.16", "GLD": "0.04"}, "0.02"),
        _full("INC-30-70", "Income 30/70", "2026.1", "2026-01-02", "2025-12-30T22:00:00Z",
              {"SCHB": "0.20", "SCHD": "0.10", "VTEB": "0.25", "BND": "0.20", "TIP": "0.10", "LQD": "0.13"}, "0.02"),
        {"model_id": "GRO-80-20", "model_name": "Growth 80/20", "manager": MANAGER, "version": "2026.2",
         "previous_version": "2026.1", "effective_date": "2026-11-16", "published_at": "2026-11-13T22:05:00Z",
         "change_type": "DELTA", "changes": [
             {"action": "UPDATE", "identifier": _identifier("VEA"), "ticker": "VEA",
              "old_weight": Decimal("0.18"), "new_weight": Decimal("0.16")},
             {"action": "UPDATE", "identifier": _identifier("VWO"), "ticker": "VWO",
              "old_weight": Decimal("0.08"), "new_weight": Decimal("0.06")},
             {"action": "ADD", "identifier": _identifier("VNQ"), "ticker": "VNQ", "new_weight": Decimal("0.04"),
              "min_weight": Decimal("0.03"), "max_weight": Decimal("0.05")}],
         "cash_weight": Decimal("0.02"), "checksum_sum_of_weights": Decimal("1.0000")},
    ]


def deliveries_of(notices: Iterable[Mapping[str, Any]], *, feed: str = "sandbox",
                  source: str = "sandbox") -> list[ModelDelivery]:
    """Notices as deliveries (read by the feed's own parser), in their order."""
    by_model: dict[str, list[Any]] = {}
    for notice in notices:
        by_model.setdefault(str(notice.get("model_id")), []).append(notice)
    return [n.delivery for model_id, items in by_model.items()
            for n in parse_notices({"model_id": model_id, "notices": items}, source, model_id, feed=feed)]


def write_model_files(directory: Path, notices: Iterable[Mapping[str, Any]] | None = None) -> list[Path]:
    """Write ``notices`` (default: the seed) as canonical CSV files in ``directory``, one per version.

    The files are named ``<model_id>_<version>.csv``; the directory is created if missing.
    """
    return [drop_file(directory, d) for d in deliveries_of(seed_notices() if notices is None else notices)]


def drop_file(directory: Path, delivery: ModelDelivery) -> Path:
    """Write ``delivery`` as ``directory/<model_id>_<version>.csv`` (atomically); the directory is created if missing."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return write_model_file(directory / f"{_safe(delivery.model_id)}_{_safe(delivery.version)}.csv", [delivery])


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------


class ManagerSandbox:
    """A loopback manager API in a thread; a context manager whose ``base_url`` the feed uses."""

    def __init__(self, notices: Iterable[Mapping[str, Any] | ModelDelivery] | None = None, *,
                 token: str | None = None, host: str = "127.0.0.1", port: int = 0, retry_after: int = 1):
        self.token = token
        self.retry_after = retry_after
        self.acks: list[dict[str, Any]] = []  # every acknowledgement, in order
        self.requests: list[str] = []  # "METHOD /path?query" of every request, in order
        self._models: dict[str, list[dict[str, Any]]] = {}
        self._faults: list[list[Any]] = []  # [fault, path, times left]
        self._lock = threading.Lock()
        for notice in seed_notices() if notices is None else notices:
            self.publish(notice)
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{API_ROOT}"

    def start(self) -> ManagerSandbox:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="models-sandbox",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> ManagerSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the manager publishes --------------------------------------------

    def publish(self, notice: Mapping[str, Any] | ModelDelivery) -> dict[str, Any]:
        """Add a revision: a JSON notice as given, or a delivery as a notice with its checksum.

        A delivery's ``checksum_sum_of_weights`` is computed from the versions published before
        (left out for a DELTA whose base is not here). Returns the stored notice.
        """
        with self._lock:
            if isinstance(notice, ModelDelivery):
                notice = notice_json(notice, self._checksum(notice))
            stored = copy.deepcopy(dict(notice))
            self._models.setdefault(str(stored.get("model_id")), []).append(stored)
            return stored

    def _checksum(self, delivery: ModelDelivery) -> Decimal | None:
        made: dict[str, Weights | None] = {}
        try:
            published = deliveries_of(self._models.get(delivery.model_id, []))
        except DataError:  # a malformed notice published on purpose: no checksum then
            return None
        for d in published:
            made[d.version] = weights_after(made.get(d.previous_version or ""), d)
        weights = weights_after(made.get(delivery.previous_version or ""), delivery)
        return None if weights is None else sum(weights.values(), Decimal(0))

    def notices(self, model_id: str | None = None) -> list[dict[str, Any]]:
        """The published notices (of one model, or all), oldest first per model."""
        with self._lock:
            found = [n for m, items in self._models.items() if model_id in (None, m) for n in items]
            return copy.deepcopy(found)

    def fail_next(self, fault: str, times: int = 1, *, path: str = "") -> None:
        """Make the next ``times`` requests whose path contains ``path`` fail with ``fault`` (see FAULTS)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        with self._lock:
            self._faults.append([fault, path, times])

    # -- request handling (in the server's threads) ----------------------------

    def _take_fault(self, target: str) -> str | None:
        with self._lock:
            for entry in self._faults:
                if entry[1] in target:
                    entry[2] -= 1
                    if entry[2] == 0:
                        self._faults.remove(entry)
                    return entry[0]
        return None

    def handle(self, method: str, target: str, authorization: str | None, body: bytes) -> tuple[int, dict, bytes]:
        """The status, extra headers and body answering one request."""
        with self._lock:
            self.requests.append(f"{method} {target}")
        if self.token and authorization != f"Bearer {self.token}":
            return _answer(401, {"error": "missing or wrong bearer token"})
        fault = self._take_fault(target)
        if fault == "500":
            return _answer(500, {"error": "internal server error"})
        if fault == "429":
            status, headers, data = _answer(429, {"error": "too many requests"})
            return status, {"Retry-After": str(self.retry_after)}, data
        status, headers, data = self._route(method, target, body)
        return (status, headers, data[: len(data) // 2]) if fault == "malformed" else (status, headers, data)

    def _route(self, method: str, target: str, body: bytes) -> tuple[int, dict, bytes]:
        url = urlsplit(target)
        if not url.path.startswith(API_ROOT + "/"):
            return _answer(404, {"error": f"not found: {url.path}"})
        parts = [unquote(p) for p in url.path[len(API_ROOT) + 1:].split("/")]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with self._lock:
            if method == "GET" and parts == ["models"]:
                return _answer(200, {"models": [_summary(m, items) for m, items in self._models.items()]})
            if len(parts) < 3 or parts[0] != "models" or parts[2] != "versions":
                return _answer(404, {"error": f"not found: {url.path}"})
            notices = self._models.get(parts[1])
            if notices is None:
                return _answer(404, {"error": f"no model {parts[1]!r}"})
            if method == "GET" and len(parts) == 3:
                return self._versions(parts[1], notices, query.get("since"))
            if method == "POST" and len(parts) == 5 and parts[4] == "ack":
                return self._ack(parts[1], parts[3], notices, body)
        return _answer(404, {"error": f"not found: {method} {url.path}"})

    def _versions(self, model_id: str, notices: list[dict[str, Any]], since: str | None) -> tuple[int, dict, bytes]:
        versions = [n.get("version") for n in notices]
        if since is not None:
            if since not in versions:
                return _answer(400, {"error": f"model {model_id!r} has no version {since!r}"})
            notices = notices[versions.index(since) + 1:]
        return _answer(200, {"model_id": model_id, "notices": notices})

    def _ack(self, model_id: str, version: str, notices: list[dict[str, Any]], body: bytes) -> tuple[int, dict, bytes]:
        if version not in [n.get("version") for n in notices]:
            return _answer(404, {"error": f"model {model_id!r} has no version {version!r}"})
        try:
            ack = jsontext.loads(body)
        except ValueError:
            return _answer(400, {"error": "the body is not JSON"})
        if not isinstance(ack, dict) or not isinstance(ack.get("status"), str) or not ack["status"]:
            return _answer(400, {"error": "the body must be an object with a status"})
        record = {"model_id": model_id, "version": version, "status": ack["status"], "message": ack.get("message")}
        self.acks.append(record)
        return _answer(200, record)


def _summary(model_id: str, notices: list[dict[str, Any]]) -> dict[str, Any]:
    summary = {"model_id": model_id, "latest_version": notices[-1].get("version")}
    for key in ("model_name", "manager"):
        if value := next((n[key] for n in reversed(notices) if n.get(key)), None):
            summary[key] = value
    return summary


def _answer(status: int, body: Any) -> tuple[int, dict, bytes]:
    return status, {}, jsontext.dumps(body)


def _handler(sandbox: ManagerSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, data = sandbox.handle(self.command, self.path, self.headers.get("Authorization"), body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler
