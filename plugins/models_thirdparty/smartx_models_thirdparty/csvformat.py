"""The canonical model CSV file (specs/model_feeds.md §4.4): reading it strictly, writing it.

One row per security (or cash) of a model version; one file may hold several models and
versions, and the rows of one ``(model_id, version)`` make one :class:`smartx_engine.ModelDelivery`.
A FULL version's rows are ``LineAction.SET`` lines. A DELTA adds two columns: ``action``
(``ADD``, ``UPDATE``, ``REMOVE``) and ``previous_version``; ``published_at`` is optional for both.
The columns are described in the plugin's README.

:func:`read_model_file` records every problem (file, line, column, field) in a
:class:`smartx_engine.Diagnostics` and returns nothing of a file that has any.
:func:`write_model_file` writes deliveries back in this format, atomically.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from smartx_engine import ChangeType, CsvFile, CsvRow, Diagnostics, IdentifierType, LineAction, ModelDelivery, ModelLine
from smartx_engine.csvfiles import iso_date

from . import values

COLUMNS = ("model_id", "model_name", "manager", "version", "effective_date", "identifier_type", "identifier",
           "ticker", "target_weight", "min_weight", "max_weight", "change_type")
OPTIONAL_COLUMNS = ("action", "previous_version", "published_at")
#: the fields every row of one version must agree on
VERSION_FIELDS = ("model_name", "manager", "effective_date", "change_type", "previous_version", "published_at")
WEIGHT_FIELDS = ("target_weight", "min_weight", "max_weight")


@attrs.frozen
class _Row:
    line: int
    model_id: str
    version: str
    version_fields: dict[str, Any]
    model_line: ModelLine


def read_model_file(path: Path, diagnostics: Diagnostics, *, feed: str) -> list[ModelDelivery]:
    """The versions in one file, in the order of their first rows; none if the file has a problem."""
    display = str(path)
    file = CsvFile(path, display, COLUMNS, OPTIONAL_COLUMNS, diagnostics)
    before = len(diagnostics.items)
    groups: dict[tuple[str, str], list[_Row]] = {}
    for csv_row in file.rows():
        row = _read_row(csv_row)
        if row is not None:
            groups.setdefault((row.model_id, row.version), []).append(row)
    deliveries = [_delivery(file, rows, feed) for rows in groups.values()]
    return deliveries if len(diagnostics.items) == before else []


def _read_row(row: CsvRow) -> _Row | None:
    """One row, or None when a field is bad (each problem recorded)."""
    before = len(row.file.diagnostics.items)
    model_id, version = row.get("model_id"), row.get("version")
    fields = {
        "model_name": row.get("model_name", required=False),
        "manager": row.get("manager", required=False),
        "effective_date": row.get("effective_date", iso_date),
        "change_type": row.get("change_type", values.change_type),
        "previous_version": row.get("previous_version", required=False),
        "published_at": row.get("published_at", values.timestamp, required=False),
    }
    action = _action(row, fields["change_type"], fields["previous_version"])
    identifier_type = row.get("identifier_type", values.identifier_type)
    identifier = row.get("identifier")
    ticker = row.get("ticker", required=False)
    weights = _weights(row, action)
    if len(row.file.diagnostics.items) > before:
        return None
    line = ModelLine(identifier_type, identifier, ticker, *weights, action=action, line=row.line)
    return _Row(row.line, model_id, version, fields, line)


def _action(row: CsvRow, change_type: ChangeType | None, previous_version: str | None) -> LineAction | None:
    """``SET`` for a FULL row; a DELTA row's ``action`` (and its ``previous_version`` checked)."""
    if change_type is ChangeType.FULL:
        if row.values.get("action", "").upper() not in ("", LineAction.SET.value):
            row.error("a FULL version's rows take no action; leave it empty", field="action")
        return LineAction.SET
    if change_type is not ChangeType.DELTA:
        return None
    hint = "a DELTA needs the columns action and previous_version (see the plugin's README)"
    if previous_version is None:
        row.error("a DELTA row names the version it changes", field="previous_version", hint=hint)
    if "action" not in row.file.columns:
        row.error("a DELTA row needs an action: ADD, UPDATE or REMOVE", field="action", hint=hint)
        return None
    return row.get("action", values.delta_action)


def _weights(row: CsvRow, action: LineAction | None) -> tuple[Any, Any, Any]:
    """``(target, min, max)``; a REMOVE has none (an empty or zero target_weight is accepted)."""
    if action is not LineAction.REMOVE:
        return (row.get("target_weight", values.weight), row.get("min_weight", values.weight, required=False),
                row.get("max_weight", values.weight, required=False))
    for field in WEIGHT_FIELDS:
        text = row.values.get(field, "")
        if text and not (field == "target_weight" and _is_zero(text)):
            row.error("a REMOVE row has no weights; leave it empty", field=field)
    return None, None, None


def _is_zero(text: str) -> bool:
    try:
        return values.weight(text) == 0
    except ValueError:
        return False


def _delivery(file: CsvFile, rows: list[_Row], feed: str) -> ModelDelivery:
    """The rows of one version as a delivery; a row disagreeing with the first on a version field is an error."""
    first = rows[0]
    for row in rows[1:]:
        for field in VERSION_FIELDS:
            if row.version_fields[field] != first.version_fields[field]:
                file.error(row.line, f"{_text(row.version_fields[field])} differs from "
                                     f"{_text(first.version_fields[field])} on line {first.line}, the first row of "
                                     f"model {first.model_id} version {first.version}", field=field)
    return ModelDelivery(feed=feed, source=file.display, model_id=first.model_id, version=first.version,
                         lines=tuple(row.model_line for row in rows), line=first.line, **first.version_fields)


def _text(value: Any) -> str:
    if value is None:
        return "nothing"
    return repr(value.isoformat() if hasattr(value, "isoformat") else str(value))


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def write_model_file(path: Path, deliveries: Iterable[ModelDelivery]) -> Path:
    """Write ``deliveries`` as one canonical CSV file, atomically (a temporary name, then renamed).

    A ``cash_weight`` without a cash line becomes a ``CASH,USD,$CASH`` row (``UPDATE`` in a DELTA).
    The optional columns are written only when some delivery needs them.
    """
    deliveries = list(deliveries)
    rows = [_row_values(d, line) for d in deliveries for line in _lines_with_cash(d)]
    optional = [c for c in OPTIONAL_COLUMNS if any(row[c] for row in rows)]
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, [*COLUMNS, *optional], extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


def _lines_with_cash(delivery: ModelDelivery) -> tuple[ModelLine, ...]:
    if delivery.cash_weight is None or any(l.identifier_type is IdentifierType.CASH for l in delivery.lines):
        return delivery.lines
    action = LineAction.UPDATE if delivery.change_type is ChangeType.DELTA else LineAction.SET
    return (*delivery.lines, ModelLine(IdentifierType.CASH, values.CASH_IDENTIFIER, values.CASH_TICKER,
                                       delivery.cash_weight, action=action))


def _row_values(delivery: ModelDelivery, line: ModelLine) -> dict[str, str]:
    def weight(value: Any) -> str:
        return "" if value is None else values.weight_text(value)

    return {
        "model_id": delivery.model_id, "model_name": delivery.model_name or "", "manager": delivery.manager or "",
        "version": delivery.version, "effective_date": delivery.effective_date.isoformat(),
        "identifier_type": line.identifier_type.value, "identifier": line.identifier, "ticker": line.ticker or "",
        "target_weight": weight(line.weight), "min_weight": weight(line.min_weight),
        "max_weight": weight(line.max_weight), "change_type": delivery.change_type.value,
        "action": "" if line.action is LineAction.SET else line.action.value,
        "previous_version": delivery.previous_version or "",
        "published_at": values.timestamp_text(delivery.published_at) if delivery.published_at else "",
    }
