"""Large books are evaluated chunk by chunk; the result must not depend on the chunking."""

import sys
from pathlib import Path

import attrs
import numpy as np
import pytest

from smartx_engine.dsl import compile as compiled_module
from smartx_engine.dsl.compile import PolicyEvaluation, compile_policy
from smartx_engine.dsl.parser import parse_file
from smartx_engine.dsl.validate import validate

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from synthetic import synthetic_book  # noqa: E402


def columns(evaluation: PolicyEvaluation) -> dict[str, np.ndarray]:
    arrays = {f.name: getattr(evaluation, f.name) for f in attrs.fields(PolicyEvaluation)
              if f.name not in ("policy", "book", "triggers", "rules")}
    arrays |= {f"trigger {i}": mask for i, (_, mask) in enumerate(evaluation.triggers)}
    arrays |= {f"rule {rule.name.value}": mask for rule, mask in evaluation.rules}
    return arrays


@pytest.mark.parametrize("chunk", [1, 7, 250])
def test_chunked_evaluation_equals_a_single_pass(monkeypatch, chunk):
    book = synthetic_book(600, seed=3)
    checked = validate([parse_file(ROOT / "rules" / "balanced.policy")])
    policy = compile_policy(checked.policies["balanced"])
    whole = columns(policy.evaluate(book))
    monkeypatch.setattr(compiled_module, "CHUNK_SLEEVES", chunk)
    pieces = columns(policy.evaluate(book))
    assert whole.keys() == pieces.keys()
    for name in whole:
        np.testing.assert_array_equal(whole[name], pieces[name], err_msg=name)
    assert whole["out_abs"].any() and whole["harvest"].any()  # the book exercises the policy
