"""Models seen from the engine: feeds, their deliveries judged and kept, and the version history.

- :mod:`.registry`: ``model_feeds(name=None)``, the feeds plugins register;
- :mod:`.sync`: ``sync_models(store, feeds)`` reads, judges and stores each feed's versions;
- :mod:`.validate`: ``judge(delivery, catalog, held)``, the rules a delivery must meet;
- :mod:`.resolve`: ``Catalog``, managers' identifiers (CUSIP, ticker, cash) to the engine's symbols;
- :mod:`.delta`: ``apply_delta``, a DELTA on top of its base version;
- :mod:`.versions`: ``VersionRecord`` and the history: ``history``, ``version_record``,
  ``effective_version``, ``effective_versions``, ``pending_versions``, ``version_status``,
  ``add_version``;
- :mod:`.diff`: ``diff_versions``, what moved between two versions.

See docs/models.md.
"""

from .diff import VersionDiff, WeightChange, diff_versions
from .registry import model_feeds
from .sync import FeedSync, ModelSyncResult, Outcome, sync_models
from .validate import Judgement, Verdict, judge
from .versions import (
    EFFECTIVE_MODEL_VERSIONS, VersionLine, VersionRecord, add_version, effective_version, effective_versions, history,
    pending_versions, version_record, version_status,
)

__all__ = [
    "EFFECTIVE_MODEL_VERSIONS", "FeedSync", "Judgement", "ModelSyncResult", "Outcome", "Verdict", "VersionDiff",
    "VersionLine", "VersionRecord", "WeightChange", "add_version", "diff_versions", "effective_version",
    "effective_versions", "history", "judge", "model_feeds", "pending_versions", "sync_models", "version_record",
    "version_status",
]
