"""The manager API's JSON: the model list and the change notices (specs/model_feeds.md §4.4).

:func:`parse_models` reads ``GET /models``, :func:`parse_notices` reads
``GET /models/{id}/versions``, and :func:`notice_json` writes a delivery as a notice (for the
sandbox). A FULL notice carries ``lines``, a DELTA ``changes``; the shapes are in the plugin's
README. Numbers must be JSON numbers (read as ``Decimal``); keys not described are ignored.
Anything else raises a :class:`smartx_engine.DataError` naming the URL and the JSON path, e.g.
``https://.../models/GRO/versions: notices[1].changes[2].new_weight: expected a number, got the text '0.4'``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from smartx_engine import ChangeType, DataError, IdentifierType, LineAction, ModelDelivery, ModelLine
from smartx_engine.csvfiles import iso_date

from . import values

T = TypeVar("T")


@attrs.frozen
class ManagerModel:
    """A model as ``GET /models`` lists it."""

    model_id: str
    latest_version: str
    model_name: str | None = None
    manager: str | None = None


@attrs.frozen
class Notice:
    """A change notice: the delivery it makes, its checksum and where it is in the response."""

    delivery: ModelDelivery
    checksum: Decimal | None
    path: str  # e.g. notices[3]

    def describe(self) -> str:
        return f"{self.path} (model {self.delivery.model_id} version {self.delivery.version})"


class JsonReader:
    """Reads fields of a parsed JSON body; every problem is a DataError naming the URL and the path."""

    def __init__(self, url: str):
        self.url = url

    def fail(self, path: str, message: str) -> DataError:
        return DataError(f"{self.url}: {path or '(the response)'}: {message}")

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, got {_kind(value)}")
        return value

    def field(self, obj: dict[str, Any], key: str, path: str, kind: type, what: str, required: bool) -> Any:
        value = obj.get(key)
        if value is None:
            if required:
                raise self.fail(_join(path, key), "missing")
            return None
        if not isinstance(value, kind) or isinstance(value, bool) or value == "":
            raise self.fail(_join(path, key), f"expected {what}, got {_kind(value)}")
        return value

    def array(self, obj: dict[str, Any], key: str, path: str) -> list[Any]:
        return self.field(obj, key, path, list, "an array", True)

    def text(self, obj: dict[str, Any], key: str, path: str, *, required: bool = False) -> str | None:
        return self.field(obj, key, path, str, "text", required)

    def number(self, obj: dict[str, Any], key: str, path: str, *, required: bool = False) -> Decimal | None:
        return self.field(obj, key, path, Decimal, "a number", required)

    def weight(self, obj: dict[str, Any], key: str, path: str, *, required: bool = False) -> Decimal | None:
        value = self.number(obj, key, path, required=required)
        return None if value is None else self.parsed_value(value, _join(path, key), values.check_weight)

    def parsed(self, obj: dict[str, Any], key: str, path: str, parse: Callable[[str], T], *,
               required: bool = False) -> T | None:
        text = self.text(obj, key, path, required=required)
        return None if text is None else self.parsed_value(text, _join(path, key), parse)

    def parsed_value(self, value: Any, path: str, parse: Callable[[Any], T]) -> T:
        try:
            return parse(value)
        except ValueError as exc:
            hint = getattr(exc, "hint", None)
            raise self.fail(path, f"{exc}{f' ({hint})' if hint else ''}") from None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Decimal):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return {dict: "an object", list: "an array"}.get(type(value), type(value).__name__)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def parse_models(body: Any, url: str) -> list[ManagerModel]:
    """``{"models": [{"model_id", "latest_version", "model_name"?, "manager"?}, ...]}``."""
    r = JsonReader(url)
    items = r.array(r.obj(body, ""), "models", "")
    models = []
    for i, item in enumerate(items):
        path = f"models[{i}]"
        obj = r.obj(item, path)
        models.append(ManagerModel(r.text(obj, "model_id", path, required=True),
                                   r.text(obj, "latest_version", path, required=True),
                                   r.text(obj, "model_name", path), r.text(obj, "manager", path)))
    return models


def parse_notices(body: Any, url: str, model_id: str, *, feed: str) -> list[Notice]:
    """``{"model_id": ID, "notices": [notice, ...]}``: every notice of one model, in order."""
    r = JsonReader(url)
    obj = r.obj(body, "")
    if (got := r.text(obj, "model_id", "", required=True)) != model_id:
        raise r.fail("model_id", f"{got!r}, but model {model_id!r} was asked for")
    return [_notice(r, item, f"notices[{i}]", model_id, feed, i + 1)
            for i, item in enumerate(r.array(obj, "notices", ""))]


def _notice(r: JsonReader, value: Any, path: str, model_id: str, feed: str, position: int) -> Notice:
    obj = r.obj(value, path)
    if (got := r.text(obj, "model_id", path, required=True)) != model_id:
        raise r.fail(_join(path, "model_id"), f"{got!r} in the notices of model {model_id!r}")
    kind = r.parsed(obj, "change_type", path, values.change_type, required=True)
    key, other = ("lines", "changes") if kind is ChangeType.FULL else ("changes", "lines")
    if other in obj:
        raise r.fail(_join(path, other), f"a {kind.value} notice carries {key}, not {other}")
    lines = tuple(_line(r, item, f"{path}.{key}[{j}]", kind, j + 1) for j, item in enumerate(r.array(obj, key, path)))
    cash_weight = r.weight(obj, "cash_weight", path)
    if cash_weight is not None and any(line.identifier_type is IdentifierType.CASH for line in lines):
        raise r.fail(_join(path, "cash_weight"), f"cash is given twice: as cash_weight and as a CASH line of {key}")
    delivery = ModelDelivery(
        feed=feed, source=r.url, model_id=model_id, version=r.text(obj, "version", path, required=True),
        effective_date=r.parsed(obj, "effective_date", path, iso_date, required=True), change_type=kind,
        lines=lines, model_name=r.text(obj, "model_name", path), manager=r.text(obj, "manager", path),
        published_at=r.parsed(obj, "published_at", path, values.timestamp),
        previous_version=r.text(obj, "previous_version", path, required=kind is ChangeType.DELTA),
        cash_weight=cash_weight, line=position)
    return Notice(delivery, r.number(obj, "checksum_sum_of_weights", path), path)


def _line(r: JsonReader, value: Any, path: str, kind: ChangeType, position: int) -> ModelLine:
    """A FULL notice's line (``weight``) or a DELTA's change (``action``, ``new_weight``, ``old_weight``)."""
    obj = r.obj(value, path)
    identifier_path = _join(path, "identifier")
    identifier = r.obj(obj.get("identifier"), identifier_path)
    identifier_type = r.parsed(identifier, "type", identifier_path, values.identifier_type, required=True)
    identifier_value = r.text(identifier, "value", identifier_path, required=True)
    if kind is ChangeType.FULL:
        action, weight_key = LineAction.SET, "weight"
    else:
        action, weight_key = r.parsed(obj, "action", path, values.delta_action, required=True), "new_weight"
        r.weight(obj, "old_weight", path)  # informational: checked, not delivered
    if action is LineAction.REMOVE:
        for key in ("new_weight", "min_weight", "max_weight"):
            if obj.get(key) is not None:
                raise r.fail(_join(path, key), "a REMOVE change has no new weights")
    return ModelLine(identifier_type, identifier_value, r.text(obj, "ticker", path),
                     r.weight(obj, weight_key, path, required=action is not LineAction.REMOVE),
                     r.weight(obj, "min_weight", path), r.weight(obj, "max_weight", path), action=action, line=position)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def notice_json(delivery: ModelDelivery, checksum: Decimal | None = None) -> dict[str, Any]:
    """The notice of ``delivery`` (numbers as Decimal: write it with :func:`.jsontext.dumps`)."""
    full = delivery.change_type is ChangeType.FULL
    notice: dict[str, Any] = {
        "model_id": delivery.model_id, "version": delivery.version, "previous_version": delivery.previous_version,
        "model_name": delivery.model_name, "manager": delivery.manager,
        "effective_date": delivery.effective_date.isoformat(),
        "published_at": values.timestamp_text(delivery.published_at) if delivery.published_at else None,
        "change_type": delivery.change_type.value,
        "lines" if full else "changes": [_line_json(line, full) for line in delivery.lines],
        "cash_weight": delivery.cash_weight, "checksum_sum_of_weights": checksum,
    }
    return {key: value for key, value in notice.items() if value is not None}


def _line_json(line: ModelLine, full: bool) -> dict[str, Any]:
    item: dict[str, Any] = {} if full else {"action": line.action.value}
    item.update({"identifier": {"type": line.identifier_type.value, "value": line.identifier}, "ticker": line.ticker,
                 "weight" if full else "new_weight": line.weight,
                 "min_weight": line.min_weight, "max_weight": line.max_weight})
    return {key: value for key, value in item.items() if value is not None}
