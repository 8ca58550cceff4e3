"""UMA construction: a sleeve's target (a model, a blend of models, a custom allocation) and the
account's restrictions (exclusions, substitutions), made into one exact target with provenance.

``spec`` (values and the operator's text) → ``versions`` (which model version is in effect) →
``compute`` (the effective target, pure) ← ``records`` (reads) → ``effective`` (every sleeve's,
from the store; ``columns``: every sleeve's as columns, for the Book) ; ``assign`` (checked,
audited writes). See docs/models.md, "UMA construction".
"""

from .assign import assign_target, restrict
from .changes import model_changes
from .compute import EffectiveTarget, Removed, Source, TargetWeight, check_restrictions, effective_target
from .effective import effective_targets
from .records import restrictions, sleeve_target, sleeve_targets
from .spec import (
    BlendComponent, Restriction, RestrictionKind, TargetKind, TargetSpec, parse_allocation, parse_blend,
    parse_substitution,
)
from .versions import versions_in_effect

__all__ = [
    "BlendComponent", "EffectiveTarget", "Removed", "Restriction", "RestrictionKind", "Source", "TargetKind",
    "TargetSpec", "TargetWeight", "assign_target", "check_restrictions", "effective_target", "effective_targets", "model_changes",
    "parse_allocation", "parse_blend", "parse_substitution", "restrict", "restrictions", "sleeve_target",
    "sleeve_targets", "versions_in_effect",
]
