"""``smartx custodians``: list, sync, breaks, ack and link, with a FakeCustodian registered as a plugin."""

import json

import pytest

from smartx_engine import hookimpl
from smartx_engine.custody import CustodianTransaction
from smartx_engine.errors import CustodianError
from smartx_engine.plugins import get_plugin_manager
from smartx_engine.testing import FakeCustodian

from .conftest import AS_OF, small_book_seed


class FakePlugin:
    """A plugin registering one adapter."""

    def __init__(self, adapter):
        self.adapter = adapter

    @hookimpl
    def register_custodians(self, register):
        register(self.adapter)


@pytest.fixture
def fake():
    """A FakeCustodian named ``fake``, registered for the test only."""
    adapter = FakeCustodian(small_book_seed(), name="fake", today=AS_OF)
    pm = get_plugin_manager()
    pm.register(FakePlugin(adapter), name="test_fake_custodian")
    yield adapter
    pm.unregister(name="test_fake_custodian")


@pytest.fixture
def firm(smartx, book, fake):
    """The small book with its Schwab accounts held at the fake custodian."""
    accounts = book / "accounts.csv"
    accounts.write_text(accounts.read_text().replace(",schwab,", ",fake,"))
    smartx("import", "book", str(book))
    return smartx


def run_json(smartx, *args, expect=0):
    return json.loads(smartx(*args, "--json", expect=expect).output)


def sync(smartx, *args, expect=0):
    return run_json(smartx, "custodians", "sync", "--custodian", "fake", "--as-of", AS_OF.isoformat(), *args,
                    expect=expect)


def test_list_shows_the_adapter_its_accounts_and_the_last_sync(firm):
    (fake,) = [c for c in run_json(firm, "custodians", "list") if c["custodian"] == "fake"]
    assert fake["registered"] and fake["supports_blocks"] and fake["last_sync"] is None
    assert fake["accounts"] == [{"account_id": "SCH-1", "number": "SCH-1"}, {"account_id": "SCH-2", "number": "SCH-2"}]
    sync(firm)
    (fake,) = [c for c in run_json(firm, "custodians", "list") if c["custodian"] == "fake"]
    assert fake["last_sync"]["as_of"] == AS_OF.isoformat() and fake["last_sync"]["accounts"] == 2
    assert "fake" in firm("custodians", "list").output


def test_a_clean_sync_then_no_breaks(firm, fake):
    fake.post("SCH-1", CustodianTransaction("D1", AS_OF, "deposit", "10.00"))
    (summary,) = sync(firm)
    assert summary["custodian"] == "fake" and summary["accounts"] == ["SCH-1", "SCH-2"]
    assert (summary["positions"], summary["transactions_added"], summary["breaks_open"]) == (6, 1, 0)
    assert summary["error"] is None
    assert run_json(firm, "custodians", "breaks") == []
    assert "no breaks" in firm("custodians", "breaks").output
    assert "fake" in firm("custodians", "sync", "--custodian", "fake", "--as-of", AS_OF.isoformat()).output


def test_breaks_acknowledge_and_report(firm, fake):
    fake.set_cash("SCH-1", "1620.75")
    fake.set_position("SCH-2", "BND", "99")
    (summary,) = sync(firm)
    assert summary["breaks_open"] == 2
    breaks = run_json(firm, "custodians", "breaks")
    assert [(b["break_id"], b["status"], b["engine"], b["custodian"]) for b in breaks] == [
        ("SCH-1:cash:$CASH", "open", "1520.75", "1620.75"), ("SCH-2:position:BND", "open", "100", "99")]
    assert "Blocked from trading" in firm("custodians", "breaks").output
    acked = run_json(firm, "custodians", "ack", "SCH-1:cash:$CASH", "--note", "deposit in transit")
    assert acked["status"] == "acknowledged" and acked["note"] == "deposit in transit"
    assert "may trade again" in firm("custodians", "ack", "SCH-2:position:BND", "--note", "corporate action").output
    assert [b["status"] for b in run_json(firm, "custodians", "breaks", "--status", "acknowledged")] == [
        "acknowledged", "acknowledged"]
    assert run_json(firm, "custodians", "breaks", "--status", "open") == []
    fake.set_cash("SCH-1", "1520.75")
    (summary,) = sync(firm)
    assert summary["breaks_resolved"] == ["SCH-1:cash:$CASH"]
    assert [b["break_id"] for b in run_json(firm, "custodians", "breaks", "--status", "resolved")] == [
        "SCH-1:cash:$CASH"]
    assert len(run_json(firm, "custodians", "breaks", "--status", "all", "--account", "SCH-1")) == 1


def test_errors_are_messages(firm):
    result = firm("custodians", "ack", "SCH-1:cash:$CASH", "--note", "x", expect=1)
    assert "no break 'SCH-1:cash:$CASH'" in result.output
    assert "did you mean `fake`" in firm("custodians", "sync", "--custodian", "fak", expect=1).output
    assert "no account" in firm("custodians", "breaks", "--account", "NOPE", expect=1).output
    firm("custodians", "ack", "X", expect=2)  # --note is required: a usage error


def test_link_then_the_unlinked_break_is_resolved(firm, fake):
    fake.remove_account("SCH-2")
    fake.add_account("8765-4321", "2200.10", {"VTI": "60", "BND": "100"})
    (summary,) = sync(firm)
    assert summary["unlinked"] == ["8765-4321"] and summary["missing"] == ["SCH-2"]
    assert [b["kind"] for b in run_json(firm, "custodians", "breaks")] == ["unlinked"]
    assert "SCH-2 is fake account 8765-4321" in firm("custodians", "link", "SCH-2", "8765-4321").output
    assert "already linked to SCH-2" in firm("custodians", "link", "SCH-1", "8765-4321", expect=1).output
    (summary,) = sync(firm)
    assert summary["breaks_resolved"] == ["SCH-2:unlinked:$CASH"] and summary["unlinked"] == []


def test_one_account_and_a_failing_custodian(firm, fake):
    (summary,) = sync(firm, "--account", "SCH-2", "--since", "2026-01-01")
    assert summary["accounts"] == ["SCH-2"] and summary["since"] == "2026-01-01"
    assert "is held at fidelity, not fake" in firm("custodians", "sync", "--custodian", "fake", "--account", "FID-1",
                                                    expect=1).output
    fake.fail_next_read("accounts", CustodianError("fake answered 502"))
    result = firm("custodians", "sync", "--custodian", "fake", "--as-of", AS_OF.isoformat(), expect=1)
    assert "fake answered 502; nothing was synced from fake" in result.output


def test_help_teaches(firm):
    for command in ("sync", "breaks", "ack", "link", "list"):
        assert "Usage" in firm("custodians", command, "--help").output
    assert "unlinked" in firm("custodians", "breaks", "--help").output
