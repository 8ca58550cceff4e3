"""Firm settings: a few named switches kept in the database, validated, audited.

Every known setting is declared in :data:`KNOWN` with its type, default and what it does;
``smartx settings list|set|unset`` reads and changes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .errors import DataError, NotFoundError, did_you_mean
from .store import Store


def _boolean(text: str) -> bool:
    words = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
    if text.strip().lower() not in words:
        raise DataError(f"expected true or false (or yes/no, on/off, 1/0), got {text!r}")
    return words[text.strip().lower()]


@attrs.frozen
class Kind:
    """A setting's type: its name, how its text is read (DataError when invalid) and written."""

    name: str
    parse: Callable[[str], Any]
    render: Callable[[Any], str] = str


BOOL = Kind("bool", _boolean, lambda value: "true" if value else "false")


def _text(text: str) -> str:
    if not text.strip():
        raise DataError("expected some text, got nothing")
    return text.strip()


TEXT = Kind("text", _text)


@attrs.frozen
class Setting:
    """A known setting: its key, type, default and what it does."""

    key: str
    kind: Kind
    default: Any
    help: str


KNOWN = {s.key: s for s in [
    Setting("approvals.four_eyes", BOOL, False,
            "an approver must differ from whoever proposed the trade (ran the rebalance) or last edited it"),
    Setting("firm.name", TEXT, "Your Advisory Firm", "the firm's name, on the cover of client reports"),
]}


def describe(setting: Setting) -> str:
    """One line on a setting, for help texts."""
    return f"{setting.key} ({setting.kind.name}, default {setting.kind.render(setting.default)}): {setting.help}"


def _known(key: str) -> Setting:
    if key not in KNOWN:
        hint = did_you_mean(key, list(KNOWN))
        raise NotFoundError(f"no setting {key!r}" + (f"; {hint}" if hint else f" (known: {', '.join(KNOWN)})"))
    return KNOWN[key]


def get(store: Store, key: str) -> Any:
    """The setting's value: the stored one, else its default."""
    setting = _known(key)
    row = store.db.execute("select value from settings where key = ?", [key]).fetchone()
    return setting.default if row is None else setting.kind.parse(row[0])


def current(store: Store) -> list[dict[str, Any]]:
    """Every known setting with its value, default and whether it was set."""
    stored = {r["key"]: r for r in store.db.query("select * from settings")}
    return [{"key": s.key, "type": s.kind.name, "value": get(store, s.key), "default": s.default,
             "set": s.key in stored, "updated_by": stored.get(s.key, {}).get("updated_by"), "help": s.help} for s in KNOWN.values()]


def set_value(store: Store, key: str, text: str) -> Any:
    """Validate and store a setting (audited); returns its parsed value."""
    setting = _known(key)
    try:
        value = setting.kind.parse(text)
    except DataError as exc:
        raise DataError(f"{key}: {exc}") from None
    with store.transaction():
        before = store.db.execute("select value from settings where key = ?", [key]).fetchone()
        store.db.execute(
            "insert into settings (key, value, updated_at, updated_by) values (?, ?, ?, ?) on conflict (key)"
            " do update set value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            [key, setting.kind.render(value), store.clock().isoformat(timespec="seconds"), store.actor])
        store.audit("settings.set", key, value=value, before=before[0] if before else None)
    return value


def unset(store: Store, key: str) -> None:
    """Back to the default (audited)."""
    _known(key)
    with store.transaction():
        store.db.execute("delete from settings where key = ?", [key])
        store.audit("settings.unset", key)
