"""The reports that plugins register (``register_reporters``): ``name``, ``formats``, ``render(report, format)``."""

from __future__ import annotations

from typing import Any

from ..plugins import chosen, registered


def reporters(name: str | None = None) -> dict[str, Any]:
    """The registered reporters by name; with ``name``, only that one (NotFoundError when none has it)."""
    return chosen(registered("register_reporters", "reporter"), name, "reporter", "reporter")
