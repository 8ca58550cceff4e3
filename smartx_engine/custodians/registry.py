"""The custodian adapters that plugins register (``register_custodians``)."""

from __future__ import annotations

from ..custody import Custodian
from ..plugins import chosen, registered


def custodians(name: str | None = None) -> dict[str, Custodian]:
    """The registered adapters by name; with ``name``, only that one (NotFoundError when none has it)."""
    return chosen(registered("register_custodians", "custodian"), name, "custodian adapter", "custodian")
