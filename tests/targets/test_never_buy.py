"""A security an account restricts (excluded or substituted in its targets) is never bought there:
not as a policy's substitute, not as a harvest's substitute, not by a swap back."""

import json
from pathlib import Path

from tests.tax.test_harvest import (  # noqa: F401  (the fixture)
    ACCOUNTS, AS_OF, MODELS, POLICY, SECURITIES, SLEEVES, SWAP_HISTORY, firm, harvest,
)


def test_a_harvest_buys_the_next_substitute_when_the_first_is_restricted_in_the_account(smartx, firm):
    rules = firm()
    smartx("accounts", "restrict", "TX", "--exclude", "QQQ")
    sell, buy = harvest(smartx, rules)
    assert sell["symbol"] == "XYZ" and (buy["symbol"], buy["quantity"]) == ("VTI", "80.000000")


def test_a_policy_substitute_restricted_in_the_account_is_skipped(smartx, firm):
    # the IRA (cash 1,000, model M: XYZ 50%) may not buy XYZ (`restrict buy`): its first substitute QQQ is
    # excluded in the IRA, so it buys VTI
    rules = firm(ira_cash="1000", policy='trigger when account.tax_treatment == "tax_deferred"\nrestrict buy "XYZ"')
    smartx("accounts", "restrict", "IRA", "--exclude", "QQQ")
    trades = json.loads(smartx("--rules", str(rules), "rebalance", "--sleeve", "IRA-S", "--as-of", AS_OF,
                               "--dry-run", "--json").stdout)
    by = {t["symbol"]: t for t in trades}
    assert "QQQ" not in by and by["VTI"]["side"] == "buy"
    assert "in place of XYZ (`restrict buy`" in by["VTI"]["reasons"][0]


def test_no_swap_back_into_a_security_the_account_now_excludes(smartx, tmp_path: Path):
    book = tmp_path / "book"
    book.mkdir()
    files = {"accounts.csv": ACCOUNTS, "securities.csv": SECURITIES, "models.csv": MODELS, "sleeves.csv": SLEEVES,
             "cash.csv": "account_id,sleeve_id,amount\nTX,TX-S,0\nIRA,IRA-S,0\n",
             "transactions.csv": SWAP_HISTORY.format(harvested="2026-10-01")}
    for name, text in files.items():
        (book / name).write_text(text)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "p.policy").write_text(POLICY.replace("harvest when lot.loss >= 100 USD",
                                                   "harvest when lot.loss >= 100 USD swap back").format(extra=""))
    smartx("import", "book", str(book))
    assert [t["symbol"] for t in harvest(smartx, rules)] == ["QQQ", "XYZ"]  # swaps back without the exclusion
    smartx("accounts", "restrict", "TX", "--exclude", "XYZ")
    assert harvest(smartx, rules) == []


def test_a_transition_targets_the_model_with_the_account_restrictions(smartx, tmp_path: Path):
    from tests.tax.test_transition import buys, transition, write_book
    smartx("import", "book", str(write_book(tmp_path / "transition-book")))
    assert "VEA" in buys(transition(smartx))
    smartx("accounts", "restrict", "TX-1", "--exclude", "VEA")
    plan = transition(smartx)
    assert "VEA" not in buys(plan)
    # VEA's 18% goes to VTI and BND pro rata (50 : 30): VTI 61.25%, BND 36.75%
    targets = {h["symbol"]: h["target"] for h in plan["holdings_after"]}
    assert targets["VTI"] == "0.612500" and targets["BND"] == "0.367500"
