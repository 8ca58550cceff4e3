"""``ModelFileFeed`` (feed ``files``): canonical model CSV files that managers drop into a directory.

Every ``*.csv`` file directly in the directory is read (names starting with ``.`` are skipped:
write a file under such a name, then rename it). A call is all or nothing: if any file has a
problem, ``deliveries()`` raises one :class:`smartx_engine.DataError` naming every bad file, line,
column and field, and delivers nothing, not even the versions of the good files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import attrs

from smartx_engine import DataError, Diagnostic, Diagnostics, FeedSandboxSession, ModelDelivery

from .csvformat import read_model_file
from .settings import Settings


class ModelFileFeed:
    """Model versions from the CSV files in ``directory`` (setting ``directory`` of ``[models]``)."""

    name = "files"

    def __init__(self, *, directory: str | Path | None = None, environ: Mapping[str, str] | None = None):
        self.settings = Settings(self.name, {"directory": directory}, environ)

    def __repr__(self) -> str:
        return f"ModelFileFeed(directory={self.settings.get('directory')!r})"

    @property
    def configured(self) -> bool:
        """Whether a directory is set (nothing is read): `smartx models sync` skips a feed that is not."""
        return bool(self.settings.get("directory"))

    @property
    def directory(self) -> Path:
        directory = Path(self.settings.required("directory"))
        if not directory.is_dir():
            raise DataError(f"the model files directory {directory} does not exist or is not a directory "
                            f"(setting directory of [models], SMARTX_MODELS_DIRECTORY)")
        return directory

    def files(self) -> list[Path]:
        """The files the feed reads, by name."""
        return sorted(p for p in self.directory.iterdir()
                      if p.suffix.lower() == ".csv" and not p.name.startswith(".") and p.is_file())

    def deliveries(self) -> list[ModelDelivery]:
        """Every version in the files, oldest first: by effective date, then file name, then line."""
        directory = self.directory
        diagnostics = Diagnostics()
        found = [d for path in self.files() for d in read_model_file(path, diagnostics, feed=self.name)]
        found = _each_version_once(sorted(found, key=_order), diagnostics)
        diagnostics.raise_if_any(f"the model files in {directory}")
        return found

    @contextlib.contextmanager
    def sandbox(self, deliveries: Sequence[ModelDelivery], directory: Path) -> Iterator[FeedSandboxSession]:
        """A manager dropping files into ``directory/model-drop``: ``deliveries`` first, one file each."""
        from .sandbox import drop_file

        drop = Path(directory) / "model-drop"
        for delivery in deliveries:
            drop_file(drop, delivery)
        drop.mkdir(parents=True, exist_ok=True)
        yield FeedSandboxSession({"SMARTX_MODELS_DIRECTORY": str(drop)}, lambda delivery: drop_file(drop, delivery))


def _order(delivery: ModelDelivery) -> tuple:
    return delivery.effective_date, Path(delivery.source).name, delivery.line or 0


def _each_version_once(deliveries: Iterable[ModelDelivery], diagnostics: Diagnostics) -> list[ModelDelivery]:
    """The first of each ``(model_id, version)``; a copy in another file must be identical."""
    first: dict[tuple[str, str], ModelDelivery] = {}
    for delivery in deliveries:
        other = first.setdefault((delivery.model_id, delivery.version), delivery)
        if other is not delivery and _contents(other) != _contents(delivery):
            diagnostics.add(Diagnostic(
                delivery.source, delivery.line or 1, None,
                f"model {delivery.model_id} version {delivery.version} is also in {other.source} (line {other.line}) "
                f"with other contents", field="version",
                hint="a version is delivered once; give the new one a new version"))
    return list(first.values())


def _contents(delivery: ModelDelivery) -> ModelDelivery:
    """The delivery without where it was read from."""
    return attrs.evolve(delivery, source="", line=None,
                        lines=tuple(attrs.evolve(line, line=None) for line in delivery.lines))
