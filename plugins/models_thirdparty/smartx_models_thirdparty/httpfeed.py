"""``ModelHttpFeed`` (feed ``manager-api``): a manager's HTTP API of JSON change notices, polled.

``deliveries()`` asks ``GET {url}/models`` for the models, then ``GET {url}/models/{id}/versions``
for each model's notices, oldest first, and checks every ``checksum_sum_of_weights`` against the
weights the notice makes (a DELTA's on the version before it in the same answer). A call is all
or nothing: any problem raises one :class:`smartx_engine.DataError` naming the URL, the notice and
the JSON path, and nothing is delivered. ``acknowledge()`` tells the manager what the engine made
of a version. Settings (``[models]``): ``url``, ``token``.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs

from smartx_engine import DataError, FeedSandboxSession, ModelDelivery

from .checksum import Weights, rounded_sum, weights_after
from .client import ManagerClient
from .notices import ManagerModel, Notice, parse_models, parse_notices
from .settings import Settings


class ModelHttpFeed:
    """Model versions from a manager API (see the module docstring).

    Keywords win over the settings; ``client`` may be a :class:`.client.ManagerClient` to use
    instead of one built from ``url`` and ``token`` on first use.
    """

    name = "manager-api"

    def __init__(self, *, url: str | None = None, token: str | None = None, client: ManagerClient | None = None,
                 environ: Mapping[str, str] | None = None):
        self.settings = Settings(self.name, {"url": url, "token": token}, environ)
        self._client = client

    def __repr__(self) -> str:
        url = self._client.base_url if self._client else self.settings.get("url")
        return f"ModelHttpFeed(url={url!r})"

    @property
    def configured(self) -> bool:
        """Whether a URL is given (no request is made): `smartx models sync` skips a feed that is not."""
        return self._client is not None or bool(self.settings.get("url"))

    @property
    def client(self) -> ManagerClient:
        """The HTTP client, built from the settings on first use."""
        if self._client is None:
            self._client = ManagerClient(self.settings.required("url"), token=self.settings.get("token"))
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- reading -------------------------------------------------------------

    def models(self) -> list[ManagerModel]:
        """``GET {url}/models``: every model the manager publishes, with its latest version."""
        return parse_models(self.client.get("/models"), self.client.url("/models"))

    def notices(self, model_id: str, since: str | None = None) -> list[Notice]:
        """``GET {url}/models/{id}/versions[?since=VERSION]``: the model's notices, oldest first."""
        path = f"/models/{quote(model_id, safe='')}/versions"
        body = self.client.get(path, {"since": since} if since is not None else None)
        return parse_notices(body, self.client.url(path), model_id, feed=self.name)

    def deliveries(self) -> list[ModelDelivery]:
        """Every version of every model, oldest first per model; checksums checked."""
        found: list[ModelDelivery] = []
        for model in self.models():
            notices = self.notices(model.model_id)
            _check_checksums(notices)
            found.extend(_named(n.delivery, model) for n in notices)
        return found

    @contextlib.contextmanager
    def sandbox(self, deliveries: Sequence[ModelDelivery], directory: Path) -> Iterator[FeedSandboxSession]:
        """A loopback :class:`.sandbox.ManagerSandbox` publishing ``deliveries``, behind a fresh
        bearer token (``directory`` is not used: the manager keeps its notices in memory)."""
        from .sandbox import ManagerSandbox

        token = secrets.token_urlsafe(16)
        with ManagerSandbox(deliveries, token=token) as server:
            yield FeedSandboxSession({"SMARTX_MODELS_URL": server.base_url, "SMARTX_MODELS_TOKEN": token},
                                     server.publish)

    # -- acknowledging ---------------------------------------------------------

    def acknowledge(self, model_id: str, version: str, status: str, message: str | None = None) -> None:
        """``POST {url}/models/{id}/versions/{version}/ack`` with ``{"status", "message"}``.

        ``status`` is what the engine made of the version (``accepted`` or ``rejected``).
        """
        body: dict[str, Any] = {"model_id": model_id, "version": version, "status": status}
        if message:
            body["message"] = message
        self.client.post(f"/models/{quote(model_id, safe='')}/versions/{quote(version, safe='')}/ack", body)


def _check_checksums(notices: list[Notice]) -> None:
    """Each notice's checksum against the weights it makes; a DELTA whose base is not here is not checked."""
    made: dict[str, Weights | None] = {}
    for notice in notices:
        delivery = notice.delivery
        base = made.get(delivery.previous_version) if delivery.previous_version else None
        weights = made[delivery.version] = weights_after(base, delivery)
        if notice.checksum is not None and weights is not None:
            total = rounded_sum(weights, notice.checksum)
            if total != notice.checksum:
                raise DataError(f"{delivery.source}: {notice.describe()}: checksum_sum_of_weights is "
                                f"{notice.checksum}, but the weights of the version it makes sum to {total}"
                                f" (cash included); nothing was delivered")


def _named(delivery: ModelDelivery, model: ManagerModel) -> ModelDelivery:
    """The delivery, with the model list's name and manager where the notice gives none."""
    return attrs.evolve(delivery, model_name=delivery.model_name or model.model_name,
                        manager=delivery.manager or model.manager)
