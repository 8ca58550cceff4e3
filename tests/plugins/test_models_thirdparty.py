"""The third-party model feeds: manager CSV files (``files``) and a manager API (``manager-api``).

The HTTP feed is tested against the loopback sandbox over real HTTP.
"""

from __future__ import annotations

import datetime as dt
import re
import itertools
from decimal import Decimal
from pathlib import Path

import attrs
import httpx
import pytest
import smartx_models_thirdparty
from smartx_models_thirdparty.client import ManagerClient
from smartx_models_thirdparty.csvformat import COLUMNS, write_model_file
from smartx_models_thirdparty.filefeed import ModelFileFeed
from smartx_models_thirdparty.httpfeed import ModelHttpFeed
from smartx_models_thirdparty.sandbox import ManagerSandbox, deliveries_of, seed_notices, write_model_files

from smartx_engine import (
    ChangeType, DataError, IdentifierType, LineAction, ModelDelivery, ModelFeed, ModelLine, SmartxError,
)
from smartx_engine.domain import cusip
from smartx_engine.plugins import registered
from smartx_engine.testing import FeedWorld, ModelFeedContract
from tests.plugins.test_sandbox_commands import start, stop

HEADER = ",".join(COLUMNS)
ROW = "GRO,Growth,Acme Asset Mgmt,1,2024-01-16,{type},{id},{ticker},{w},{lo},{hi},FULL"
SPEC_FILE = f"""{HEADER}
GROWTH-60-40,Growth 60/40,Acme Asset Mgmt,2024.01.15-1,2024-01-16,CUSIP,922908769,VTI,0.4200,0.4000,0.4400,FULL
GROWTH-60-40,Growth 60/40,Acme Asset Mgmt,2024.01.15-1,2024-01-16,CUSIP,921937835,BND,0.3800,0.3600,0.4000,FULL
GROWTH-60-40,Growth 60/40,Acme Asset Mgmt,2024.01.15-1,2024-01-16,CUSIP,922042775,VEU,0.1800,0.1700,0.1900,FULL
GROWTH-60-40,Growth 60/40,Acme Asset Mgmt,2024.01.15-1,2024-01-16,CASH,USD,$CASH,0.0200,0.0100,0.0300,FULL
"""
DELTA_HEADER = HEADER + ",action,previous_version"


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def without_origin(delivery: ModelDelivery) -> ModelDelivery:
    """A delivery without where it was read from (feed, source, lines)."""
    return attrs.evolve(delivery, feed="", source="", line=None,
                        lines=tuple(attrs.evolve(line, line=None) for line in delivery.lines))


def problems(error: DataError) -> set[tuple[str, int, str | None]]:
    return {(Path(d.file).name, d.line, d.field) for d in error.diagnostics}


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    directory = tmp_path / "drop"
    directory.mkdir()
    return directory


@pytest.fixture
def files_feed(drop: Path) -> ModelFileFeed:
    return ModelFileFeed(directory=drop, environ={})


@pytest.fixture
def sandbox():
    with ManagerSandbox() as running:
        yield running


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def http_feed(sandbox: ManagerSandbox, sleeps: list[float]):
    feed = ModelHttpFeed(client=ManagerClient(sandbox.base_url, sleep=sleeps.append), environ={})
    yield feed
    feed.close()


# ---------------------------------------------------------------------------
# Files: good files
# ---------------------------------------------------------------------------


def test_a_full_file_is_one_delivery_with_exact_weights_and_where_each_line_came_from(drop, files_feed):
    path = write(drop, "acme.csv", SPEC_FILE)
    (delivery,) = files_feed.deliveries()
    assert (delivery.feed, delivery.source, delivery.line) == ("files", str(path), 2)
    assert (delivery.model_id, delivery.version, delivery.model_name, delivery.manager) == (
        "GROWTH-60-40", "2024.01.15-1", "Growth 60/40", "Acme Asset Mgmt")
    assert delivery.effective_date == dt.date(2024, 1, 16) and delivery.change_type is ChangeType.FULL
    assert [line.line for line in delivery.lines] == [2, 3, 4, 5]
    assert {line.action for line in delivery.lines} == {LineAction.SET}
    vti, *_, cash = delivery.lines
    assert vti == ModelLine(IdentifierType.CUSIP, "922908769", "VTI", Decimal("0.4200"), Decimal("0.4000"),
                            Decimal("0.4400"), line=2)
    assert (cash.identifier_type, cash.identifier, cash.ticker, cash.weight) == (
        IdentifierType.CASH, "USD", "$CASH", Decimal("0.0200"))
    assert all(type(value) is Decimal for line in delivery.lines
               for value in (line.weight, line.min_weight, line.max_weight))


def test_one_file_holds_several_models_and_versions_and_they_come_oldest_first(drop, files_feed):
    write(drop, "b.csv", f"""{HEADER}
GRO,Growth,Acme,2,2024-03-01,TICKER,VTI,VTI,1,,,FULL
INC,Income,Acme,1,2024-01-02,TICKER,BND,BND,1,,,FULL
GRO,Growth,Acme,1,2024-01-02,TICKER,VTI,VTI,0.5,,,FULL
GRO,Growth,Acme,2,2024-03-01,CASH,USD,$CASH,0,,,FULL
GRO,Growth,Acme,1,2024-01-02,TICKER,BND,BND,0.5,,,FULL
""")
    write(drop, "a.csv", f"{HEADER}\nGRO,Growth,Acme,1.5,2024-02-01,TICKER,VTI,VTI,1,,,FULL\n")
    found = files_feed.deliveries()
    assert [(d.model_id, d.version, d.line) for d in found] == [
        ("INC", "1", 3), ("GRO", "1", 4), ("GRO", "1.5", 2), ("GRO", "2", 2)]
    assert [line.line for line in found[1].lines] == [4, 6]
    assert [line.line for line in found[3].lines] == [2, 5]


def test_a_delta_file_carries_actions_and_its_base_version(drop, files_feed):
    write(drop, "delta.csv", f"""{DELTA_HEADER}
GRO,Growth,Acme,2,2024-03-01,CUSIP,922908769,VTI,0.42,0.40,0.44,DELTA,UPDATE,1
GRO,Growth,Acme,2,2024-03-01,CUSIP,922042775,VEU,0.18,,,DELTA,ADD,1
GRO,Growth,Acme,2,2024-03-01,CUSIP,464287200,IVV,,,,DELTA,REMOVE,1
GRO,Growth,Acme,2,2024-03-01,CUSIP,464287176,TIP,0,,,DELTA,remove,1
""")
    (delivery,) = files_feed.deliveries()
    assert delivery.change_type is ChangeType.DELTA and delivery.previous_version == "1"
    assert [(line.action, line.ticker, line.weight) for line in delivery.lines] == [
        (LineAction.UPDATE, "VTI", Decimal("0.42")), (LineAction.ADD, "VEU", Decimal("0.18")),
        (LineAction.REMOVE, "IVV", None), (LineAction.REMOVE, "TIP", None)]


def test_full_and_delta_versions_may_share_a_file_and_published_at_is_read_as_utc(drop, files_feed):
    write(drop, "both.csv", f"""{DELTA_HEADER},published_at
GRO,Growth,Acme,1,2024-01-02,TICKER,VTI,VTI,1,,,FULL,,,2024-01-01T17:00:00-05:00
GRO,Growth,Acme,2,2024-03-01,TICKER,VTI,VTI,0.9,,,DELTA,UPDATE,1,
GRO,Growth,Acme,2,2024-03-01,CASH,USD,$CASH,0.1,,,DELTA,ADD,1,
""")
    full, delta = files_feed.deliveries()
    assert full.published_at == dt.datetime(2024, 1, 1, 22, 0, tzinfo=dt.timezone.utc)
    assert full.previous_version is None and {line.action for line in full.lines} == {LineAction.SET}
    assert [line.action for line in delta.lines] == [LineAction.UPDATE, LineAction.ADD]


def test_only_csv_files_are_read_and_hidden_ones_are_skipped(drop, files_feed):
    write(drop, "notes.txt", "not a model")
    write(drop, ".acme.csv.tmp", "half written")
    write(drop, ".hidden.csv", "half written")
    (drop / "sub.csv").mkdir()
    assert files_feed.deliveries() == []
    write(drop, "ACME.CSV", SPEC_FILE)
    assert len(files_feed.deliveries()) == 1


def test_a_version_dropped_twice_identically_is_delivered_once(drop, files_feed):
    write(drop, "acme-1.csv", SPEC_FILE)
    write(drop, "acme-1-resent.csv", SPEC_FILE)
    (delivery,) = files_feed.deliveries()
    assert Path(delivery.source).name == "acme-1-resent.csv"  # the first by name


def test_written_deliveries_read_back_the_same(drop, files_feed):
    full = ModelDelivery("x", "x", "GRO", "1", dt.date(2024, 1, 2), ChangeType.FULL, [
        ModelLine(IdentifierType.CUSIP, "922908769", "VTI", "0.6000000001", "0.55", "0.65"),
        ModelLine(IdentifierType.TICKER, "BND", None, "0.3799999999"),
        ModelLine(IdentifierType.CASH, "USD", "$CASH", "0.02")], model_name="Growth, \"80/20\"", manager="Acme",
        published_at=dt.datetime(2024, 1, 1, 22, tzinfo=dt.timezone.utc))
    delta = ModelDelivery("x", "x", "GRO", "2", dt.date(2024, 3, 1), ChangeType.DELTA, [
        ModelLine(IdentifierType.CUSIP, "922908769", "VTI", "0.62", action=LineAction.UPDATE),
        ModelLine(IdentifierType.TICKER, "BND", None, action=LineAction.REMOVE)], previous_version="1")
    write_model_file(drop / "gro.csv", [full, delta])
    assert [without_origin(d) for d in files_feed.deliveries()] == [without_origin(full), without_origin(delta)]
    assert not list(drop.glob(".*"))  # the temporary file is gone


def test_a_cash_weight_is_written_as_a_cash_row(drop, files_feed):
    delta = ModelDelivery("x", "x", "GRO", "2", dt.date(2024, 3, 1), ChangeType.DELTA, [
        ModelLine(IdentifierType.TICKER, "VTI", None, "0.97", action=LineAction.UPDATE)],
        previous_version="1", cash_weight="0.03")
    write_model_file(drop / "gro.csv", [delta])
    (read,) = files_feed.deliveries()
    assert read.cash_weight is None
    assert read.lines[-1] == ModelLine(IdentifierType.CASH, "USD", "$CASH", Decimal("0.03"), action=LineAction.UPDATE,
                                       line=3)


# ---------------------------------------------------------------------------
# Files: bad files
# ---------------------------------------------------------------------------

BAD_FILES = {
    "missing column": (HEADER.replace(",max_weight", "") + "\nGRO,Growth,Acme,1,2024-01-16,TICKER,VTI,VTI,1,,FULL\n",
                       1, None, "missing column max_weight"),
    "unknown column": (HEADER + ",colour\n" + ROW.format(type="TICKER", id="VTI", ticker="VTI", w="1", lo="", hi="")
                       + ",red\n", 1, None, "unknown column 'colour'"),
    "bad number": (HEADER + "\n" + ROW.format(type="TICKER", id="VTI", ticker="VTI", w="0.4O", lo="", hi="") + "\n",
                   2, "target_weight", "'0.4O' is not a number"),
    "percent": (HEADER + "\n" + ROW.format(type="TICKER", id="VTI", ticker="VTI", w="42%", lo="", hi="") + "\n",
                2, "target_weight", "is not a number"),
    "exponent": (HEADER + "\n" + ROW.format(type="TICKER", id="VTI", ticker="VTI", w="1", lo="4E-1", hi="") + "\n",
                 2, "min_weight", "not a plain decimal number"),
    "eleven decimals": (HEADER + "\n" + ROW.format(type="TICKER", id="VTI", ticker="VTI", w="1", lo="",
                                                    hi="0.12345678901") + "\n",
                        2, "max_weight", "more than 10 decimal places"),
    "missing weight": (HEADER + "\n" + ROW.format(type="TICKER", id="VTI", ticker="VTI", w="", lo="", hi="") + "\n",
                       2, "target_weight", "missing value"),
    "bad date": (HEADER + "\nGRO,Growth,Acme,1,16/01/2024,TICKER,VTI,VTI,1,,,FULL\n",
                 2, "effective_date", "'16/01/2024' is not a date"),
    "unknown identifier type": (HEADER + "\n" + ROW.format(type="ISIN", id="US9229087690", ticker="VTI", w="1",
                                                             lo="", hi="") + "\n",
                                2, "identifier_type", "unknown identifier_type 'ISIN'"),
    "unknown change type": (HEADER + "\nGRO,Growth,Acme,1,2024-01-16,TICKER,VTI,VTI,1,,,REPLACE\n",
                            2, "change_type", "unknown change_type 'REPLACE'"),
    "missing identifier": (HEADER + "\n" + ROW.format(type="CUSIP", id="", ticker="VTI", w="1", lo="", hi="") + "\n",
                           2, "identifier", "missing value"),
    "model names disagree": (HEADER + "\n" + ROW.format(type="TICKER", id="VTI", ticker="VTI", w="0.5", lo="", hi="")
                             + "\nGRO,Growht,Acme Asset Mgmt,1,2024-01-16,TICKER,BND,BND,0.5,,,FULL\n",
                             3, "model_name", "'Growht' differs from 'Growth' on line 2"),
    "managers disagree": (HEADER + "\n" + ROW.format(type="TICKER", id="VTI", ticker="VTI", w="0.5", lo="", hi="")
                          + "\nGRO,Growth,Acme,1,2024-01-16,TICKER,BND,BND,0.5,,,FULL\n",
                          3, "manager", "'Acme' differs from 'Acme Asset Mgmt'"),
    "effective dates disagree": (HEADER + "\n" + ROW.format(type="TICKER", id="VTI", ticker="VTI", w="0.5", lo="",
                                                              hi="")
                                 + "\nGRO,Growth,Acme Asset Mgmt,1,2024-01-17,TICKER,BND,BND,0.5,,,FULL\n",
                                 3, "effective_date", "'2024-01-17' differs from '2024-01-16'"),
    "change types disagree": (DELTA_HEADER + "\n" + ROW.format(type="TICKER", id="VTI", ticker="VTI", w="0.5", lo="",
                                                                 hi="")
                              + ",,\nGRO,Growth,Acme Asset Mgmt,1,2024-01-16,TICKER,BND,BND,0.5,,,DELTA,ADD,0\n",
                              3, "change_type", "'DELTA' differs from 'FULL'"),
    "delta without the action column": (HEADER + ",previous_version\n"
                                        "GRO,Growth,Acme,2,2024-01-16,TICKER,VTI,VTI,1,,,DELTA,1\n",
                                        2, "action", "needs an action"),
    "delta without a base": (DELTA_HEADER + "\nGRO,Growth,Acme,2,2024-01-16,TICKER,VTI,VTI,1,,,DELTA,ADD,\n",
                             2, "previous_version", "names the version it changes"),
    "delta with a bad action": (DELTA_HEADER + "\nGRO,Growth,Acme,2,2024-01-16,TICKER,VTI,VTI,1,,,DELTA,SET,1\n",
                                2, "action", "unknown action 'SET'"),
    "a remove with a weight": (DELTA_HEADER + "\nGRO,Growth,Acme,2,2024-01-16,TICKER,VTI,VTI,0.1,,,DELTA,REMOVE,1\n",
                               2, "target_weight", "a REMOVE row has no weights"),
    "a full row with an action": (DELTA_HEADER + "\nGRO,Growth,Acme,1,2024-01-16,TICKER,VTI,VTI,1,,,FULL,ADD,\n",
                                  2, "action", "take no action"),
    "published_at without a zone": (HEADER + ",published_at\nGRO,Growth,Acme,1,2024-01-16,TICKER,VTI,VTI,1,,,FULL,"
                                    "2024-01-15T22:05:00\n", 2, "published_at", "has no time zone"),
    "a short row": (HEADER + "\nGRO,Growth,Acme,1,2024-01-16,TICKER,VTI,VTI,1,,\n", 2, None, "expected 12 fields"),
    "empty": ("", 1, None, "the file is empty"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_one_data_error_naming_the_file_line_and_field(drop, files_feed, case):
    text, line, field, message = BAD_FILES[case]
    path = write(drop, "bad.csv", text)
    with pytest.raises(DataError) as caught:
        files_feed.deliveries()
    assert ("bad.csv", line, field) in problems(caught.value), str(caught.value)
    assert message in str(caught.value)
    assert f"{path}:{line}" in str(caught.value)
    assert "nothing was" in str(caught.value)


def test_every_problem_of_every_file_is_reported_and_nothing_is_delivered(drop, files_feed):
    write(drop, "a-good.csv", SPEC_FILE)
    write(drop, "b-bad.csv", f"{HEADER}\nGRO,Growth,Acme,1,2024-13-01,TICKER,VTI,VTI,1,,,FULL\n"
                             f"GRO,Growth,Acme,1,2024-01-16,CUSIP,,VTI,x,,,FULL\n")
    write(drop, "c-bad.csv", f"{HEADER}\nINC,Income,Acme,1,2024-01-16,TICKER,BND,BND,1.00000000001,,,FULL\n")
    with pytest.raises(DataError) as caught:
        files_feed.deliveries()
    assert problems(caught.value) == {("b-bad.csv", 2, "effective_date"), ("b-bad.csv", 3, "identifier"),
                                      ("b-bad.csv", 3, "target_weight"), ("c-bad.csv", 2, "target_weight")}
    assert "4 problems" in str(caught.value) and "a-good.csv" not in str(caught.value)


def test_a_version_in_two_files_with_other_contents_is_an_error(drop, files_feed):
    write(drop, "a.csv", SPEC_FILE)
    write(drop, "b.csv", SPEC_FILE.replace("0.4200,0.4000", "0.4100,0.4000"))
    with pytest.raises(DataError) as caught:
        files_feed.deliveries()
    assert problems(caught.value) == {("b.csv", 2, "version")}
    assert "also in" in str(caught.value) and "a.csv (line 2)" in str(caught.value)


def test_a_file_that_is_not_utf8_is_an_error(drop, files_feed):
    (drop / "latin.csv").write_bytes((HEADER + "\nGRO,Croissance é,Acme,1,2024-01-16,TICKER,VTI,VTI,1,,,FULL\n")
                                     .encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        files_feed.deliveries()


# ---------------------------------------------------------------------------
# Files: settings
# ---------------------------------------------------------------------------


def test_the_file_feed_without_its_directory_names_the_setting_and_the_variable(tmp_path):
    feed = ModelFileFeed(environ={"SMARTX_CONFIG": str(tmp_path / "none.toml")})
    with pytest.raises(DataError) as caught:
        feed.deliveries()
    message = str(caught.value)
    assert "'files' is not configured" in message and "directory" in message
    assert "[models]" in message and "SMARTX_MODELS_DIRECTORY" in message


def test_the_directory_comes_from_the_config_file_or_the_environment(tmp_path, drop):
    write(drop, "acme.csv", SPEC_FILE)
    config = write(tmp_path, "config.toml", f'[models]\ndirectory = "{drop}"\n')
    assert len(ModelFileFeed(environ={"SMARTX_CONFIG": str(config)}).deliveries()) == 1
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"SMARTX_CONFIG": str(config), "SMARTX_MODELS_DIRECTORY": str(elsewhere)}
    assert ModelFileFeed(environ=env).deliveries() == []


def test_a_directory_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(DataError, match="does not exist.*SMARTX_MODELS_DIRECTORY"):
        ModelFileFeed(directory=tmp_path / "missing", environ={}).deliveries()


# ---------------------------------------------------------------------------
# HTTP: the sandbox's seed, new revisions, checksums
# ---------------------------------------------------------------------------


def test_the_http_feed_delivers_every_notice_oldest_first_per_model(sandbox, http_feed):
    found = http_feed.deliveries()
    assert [(d.model_id, d.version, d.change_type, d.line) for d in found] == [
        ("GRO-80-20", "2026.1", ChangeType.FULL, 1), ("GRO-80-20", "2026.2", ChangeType.DELTA, 2),
        ("INC-30-70", "2026.1", ChangeType.FULL, 1)]
    full, delta, _ = found
    assert full.feed == "manager-api" and full.source == f"{sandbox.base_url}/models/GRO-80-20/versions"
    assert (full.model_name, full.manager, full.cash_weight) == ("Growth 80/20", "Acme Asset Mgmt", Decimal("0.02"))
    assert full.published_at == dt.datetime(2025, 12, 30, 22, tzinfo=dt.timezone.utc)
    assert full.lines[0] == ModelLine(IdentifierType.CUSIP, "464287150", "ITOT", Decimal("0.42"), Decimal("0.40"),
                                      Decimal("0.44"), line=1)
    assert delta.previous_version == "2026.1" and delta.effective_date == dt.date(2026, 11, 16)
    assert [(line.action, line.ticker, line.weight, line.line) for line in delta.lines] == [
        (LineAction.UPDATE, "VEA", Decimal("0.16"), 1), (LineAction.UPDATE, "VWO", Decimal("0.06"), 2),
        (LineAction.ADD, "VNQ", Decimal("0.04"), 3)]
    assert all(type(line.weight) is Decimal for d in found for line in d.lines)


def test_a_revision_published_later_is_delivered_next_time(sandbox, http_feed):
    before = http_feed.deliveries()
    sandbox.publish({
        "model_id": "INC-30-70", "version": "2026.2", "previous_version": "2026.1", "effective_date": "2026-12-01",
        "change_type": "DELTA", "cash_weight": Decimal("0.03"), "checksum_sum_of_weights": Decimal("1.0000"),
        "changes": [
            {"action": "REMOVE", "identifier": {"type": "CUSIP", "value": "464287242"}, "ticker": "LQD",
             "old_weight": Decimal("0.13")},
            {"action": "ADD", "identifier": {"type": "TICKER", "value": "AGG"}, "new_weight": Decimal("0.12")}]})
    after = http_feed.deliveries()
    assert after[: len(before)] == before
    (new,) = after[len(before):]
    assert (new.version, new.cash_weight, new.model_name) == ("2026.2", Decimal("0.03"), "Income 30/70")
    assert [(line.action, line.identifier, line.weight) for line in new.lines] == [
        (LineAction.REMOVE, "464287242", None), (LineAction.ADD, "AGG", Decimal("0.12"))]


def test_since_asks_only_for_the_notices_after_a_version(http_feed):
    (notice,) = http_feed.notices("GRO-80-20", since="2026.1")
    assert notice.delivery.version == "2026.2" and notice.checksum == Decimal("1.0000")
    with pytest.raises(DataError, match="HTTP 400: model 'GRO-80-20' has no version '1999'"):
        http_feed.notices("GRO-80-20", since="1999")


def test_a_checksum_that_does_not_match_the_weights_is_an_error_naming_the_notice(sandbox, http_feed):
    sandbox.publish({"model_id": "GRO-80-20", "version": "2026.3", "previous_version": "2026.2",
                     "effective_date": "2026-12-01", "change_type": "DELTA", "checksum_sum_of_weights": Decimal("1.00"),
                     "changes": [{"action": "UPDATE", "identifier": {"type": "CUSIP", "value": "464287150"},
                                  "new_weight": Decimal("0.45")}]})
    with pytest.raises(DataError) as caught:
        http_feed.deliveries()
    message = str(caught.value)
    assert f"{sandbox.base_url}/models/GRO-80-20/versions: notices[2] (model GRO-80-20 version 2026.3)" in message
    assert "checksum_sum_of_weights is 1.00, but the weights of the version it makes sum to 1.03" in message


def test_a_checksum_is_compared_at_its_own_decimals(sandbox, http_feed):
    third = Decimal("0.3333333333")
    sandbox.publish({"model_id": "THIRDS", "version": "1", "effective_date": "2026-01-02", "change_type": "FULL",
                     "checksum_sum_of_weights": Decimal("1.0000"),
                     "lines": [{"identifier": {"type": "TICKER", "value": t}, "weight": third}
                               for t in ("VTI", "VEA", "BND")]})
    assert http_feed.deliveries()[-1].model_id == "THIRDS"
    sandbox.publish({"model_id": "THIRDS", "version": "2", "effective_date": "2026-01-02", "change_type": "FULL",
                     "checksum_sum_of_weights": Decimal("1.0000000000"),
                     "lines": [{"identifier": {"type": "TICKER", "value": t}, "weight": third}
                               for t in ("VTI", "VEA", "BND")]})
    with pytest.raises(DataError, match=r"notices\[1\] \(model THIRDS version 2\).*sum to 0.9999999999"):
        http_feed.deliveries()


def test_a_delta_whose_base_is_not_offered_is_delivered_unchecked(sandbox, http_feed):
    sandbox.publish({"model_id": "NEW", "version": "5", "previous_version": "4", "effective_date": "2026-01-02",
                     "change_type": "DELTA", "checksum_sum_of_weights": Decimal("7"),
                     "changes": [{"action": "ADD", "identifier": {"type": "TICKER", "value": "VTI"},
                                  "new_weight": Decimal("0.1")}]})
    assert http_feed.deliveries()[-1].version == "5"


def test_a_published_delivery_becomes_a_notice_with_its_checksum(sandbox, http_feed):
    delta = ModelDelivery("x", "x", "GRO-80-20", "2026.3", dt.date(2026, 12, 1), ChangeType.DELTA, [
        ModelLine(IdentifierType.CUSIP, "78463V107", "GLD", action=LineAction.REMOVE),
        ModelLine(IdentifierType.CUSIP, "464287226", "AGG", "0.20", action=LineAction.UPDATE)],
        previous_version="2026.2")
    notice = sandbox.publish(delta)
    assert notice["checksum_sum_of_weights"] == Decimal("1.00")
    assert without_origin(http_feed.deliveries()[2]) == without_origin(
        attrs.evolve(delta, model_name="Growth 80/20", manager="Acme Asset Mgmt"))


# ---------------------------------------------------------------------------
# HTTP: bad answers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "path", "message"), [
    ({"action": "UPDATE", "identifier": {"type": "TICKER", "value": "VTI"}, "new_weight": "0.4"},
     "notices[2].changes[0].new_weight", "expected a number, got the text '0.4'"),
    ({"action": "UPDATE", "identifier": {"type": "TICKER", "value": "VTI"}, "new_weight": Decimal("0.12345678901")},
     "notices[2].changes[0].new_weight", "0.12345678901 has more than 10 decimal places"),
    ({"action": "UPDATE", "identifier": {"type": "TICKER", "value": "VTI"}},
     "notices[2].changes[0].new_weight", "missing"),
    ({"action": "MOVE", "identifier": {"type": "TICKER", "value": "VTI"}, "new_weight": Decimal("0.4")},
     "notices[2].changes[0].action", "unknown action 'MOVE'"),
    ({"action": "ADD", "identifier": {"type": "ISIN", "value": "US9229087690"}, "new_weight": Decimal("0.4")},
     "notices[2].changes[0].identifier.type", "unknown identifier_type 'ISIN'"),
    ({"action": "ADD", "identifier": "VTI", "new_weight": Decimal("0.4")},
     "notices[2].changes[0].identifier", "expected an object, got the text 'VTI'"),
    ({"action": "REMOVE", "identifier": {"type": "TICKER", "value": "VTI"}, "new_weight": Decimal("0")},
     "notices[2].changes[0].new_weight", "a REMOVE change has no new weights"),
    ({"action": "ADD", "identifier": {"type": "TICKER", "value": "VTI"}, "new_weight": True},
     "notices[2].changes[0].new_weight", "expected a number, got a boolean"),
])
def test_a_bad_change_is_an_error_naming_the_url_and_the_json_path(sandbox, http_feed, change, path, message):
    sandbox.publish({"model_id": "GRO-80-20", "version": "2026.3", "previous_version": "2026.2",
                     "effective_date": "2026-12-01", "change_type": "DELTA", "changes": [change]})
    with pytest.raises(DataError) as caught:
        http_feed.deliveries()
    assert str(caught.value).startswith(f"{sandbox.base_url}/models/GRO-80-20/versions: {path}: {message}")


@pytest.mark.parametrize(("notice", "path", "message"), [
    ({"version": "9", "effective_date": "2026-01-02", "change_type": "FULL", "changes": []},
     "notices[2].changes", "a FULL notice carries lines, not changes"),
    ({"version": "9", "effective_date": "2026-01-02", "change_type": "DELTA", "changes": []},
     "notices[2].previous_version", "missing"),
    ({"version": "9", "effective_date": "02/01/2026", "change_type": "FULL", "lines": []},
     "notices[2].effective_date", "'02/01/2026' is not a date"),
    ({"version": "9", "effective_date": "2026-01-02", "change_type": "FULL", "lines": [],
      "published_at": "2026-01-01T12:00:00"}, "notices[2].published_at", "'2026-01-01T12:00:00' has no time zone"),
    ({"version": "9", "effective_date": "2026-01-02", "change_type": "FULL", "cash_weight": Decimal("0.02"),
      "lines": [{"identifier": {"type": "CASH", "value": "USD"}, "weight": Decimal("0.02")}]},
     "notices[2].cash_weight", "cash is given twice"),
    ({"version": "9", "change_type": "FULL", "lines": []}, "notices[2].effective_date", "missing"),
    ({"version": "9", "effective_date": "2026-01-02", "change_type": "FULL",
      "lines": [{"identifier": {"type": "TICKER", "value": "VTI"}, "weight": Decimal("1"), "min_weight": "0.9"}]},
     "notices[2].lines[0].min_weight", "expected a number"),
])
def test_a_bad_notice_is_an_error_naming_its_json_path(sandbox, http_feed, notice, path, message):
    sandbox.publish({"model_id": "GRO-80-20", **notice})
    with pytest.raises(DataError, match=re.escape(f"/models/GRO-80-20/versions: {path}: {message}")):
        http_feed.deliveries()


def test_malformed_json_is_an_error_naming_the_url_and_nothing_is_delivered(sandbox, http_feed):
    sandbox.fail_next("malformed", path="/models/INC-30-70/versions")
    with pytest.raises(DataError) as caught:
        http_feed.deliveries()
    assert str(caught.value).startswith(f"GET {sandbox.base_url}/models/INC-30-70/versions: "
                                        "the response is not valid JSON")


def test_a_429_is_retried_after_the_servers_retry_after(sandbox, http_feed, sleeps):
    sandbox.fail_next("429", path="/models/GRO-80-20")
    assert len(http_feed.deliveries()) == 3
    assert sleeps == [1.0]
    assert sandbox.requests.count("GET /api/v1/models/GRO-80-20/versions") == 2


def test_a_500_is_retried_with_exponential_backoff(sandbox, http_feed, sleeps):
    sandbox.fail_next("500", times=3)
    assert len(http_feed.deliveries()) == 3
    assert sleeps == [0.5, 1.0, 2.0]


def test_the_feed_gives_up_after_its_tries_and_says_so(sandbox, http_feed, sleeps):
    sandbox.fail_next("500", times=10)
    with pytest.raises(DataError, match=rf"GET {sandbox.base_url}/models: HTTP 500: internal server error; "
                                        r"gave up after 4 tries"):
        http_feed.deliveries()
    assert len(sleeps) == 3


def test_an_unreachable_manager_is_a_data_error(sleeps):
    feed = ModelHttpFeed(client=ManagerClient("http://127.0.0.1:9/api", attempts=2, sleep=sleeps.append))
    with pytest.raises(DataError, match=r"GET http://127.0.0.1:9/api/models: cannot connect.*gave up after 2 tries"):
        feed.deliveries()


# ---------------------------------------------------------------------------
# HTTP: acknowledgements, tokens, settings
# ---------------------------------------------------------------------------


def test_an_acknowledgement_is_recorded_by_the_manager(sandbox, http_feed, sleeps):
    sandbox.fail_next("500", path="/ack")
    http_feed.acknowledge("GRO-80-20", "2026.2", "accepted", "applied to 4 sleeves")
    http_feed.acknowledge("INC-30-70", "2026.1", "rejected")
    assert sandbox.acks == [
        {"model_id": "GRO-80-20", "version": "2026.2", "status": "accepted", "message": "applied to 4 sleeves"},
        {"model_id": "INC-30-70", "version": "2026.1", "status": "rejected", "message": None}]
    assert "POST /api/v1/models/GRO-80-20/versions/2026.2/ack" in sandbox.requests and sleeps == [0.5]


def test_acknowledging_a_version_the_manager_does_not_have_is_an_error(sandbox, http_feed):
    with pytest.raises(DataError, match="HTTP 404: model 'GRO-80-20' has no version '1999'"):
        http_feed.acknowledge("GRO-80-20", "1999", "accepted")


def test_the_bearer_token_is_sent_and_never_shown(tmp_path):
    with ManagerSandbox(token="s3cret-t0ken") as sandbox:
        feed = ModelHttpFeed(url=sandbox.base_url, token="s3cret-t0ken", environ={})
        assert len(feed.deliveries()) == 3
        assert "s3cret" not in repr(feed) + repr(feed.client)
        env = {"SMARTX_CONFIG": str(tmp_path / "none.toml"), "SMARTX_MODELS_URL": sandbox.base_url,
               "SMARTX_MODELS_TOKEN": "wrong-t0ken"}
        with pytest.raises(DataError) as caught:
            ModelHttpFeed(environ=env).deliveries()
        assert "HTTP 401" in str(caught.value) and "SMARTX_MODELS_TOKEN" in str(caught.value)
        assert "t0ken" not in str(caught.value)


def test_the_http_feed_without_its_url_names_the_setting_and_the_variable(tmp_path):
    feed = ModelHttpFeed(environ={"SMARTX_CONFIG": str(tmp_path / "none.toml"), "SMARTX_MODELS_TOKEN": "t"})
    with pytest.raises(DataError) as caught:
        feed.deliveries()
    assert "'manager-api' is not configured" in str(caught.value)
    assert "[models]" in str(caught.value) and "SMARTX_MODELS_URL" in str(caught.value)


def test_the_url_comes_from_the_config_file(tmp_path, sandbox):
    config = write(tmp_path, "config.toml", f'[models]\nurl = "{sandbox.base_url}/"\n')
    assert len(ModelHttpFeed(environ={"SMARTX_CONFIG": str(config)}).deliveries()) == 3


@pytest.mark.parametrize(("url", "message"), [
    ("http://models.acme.example/api", "refusing plain http to models.acme.example"),
    ("ftp://models.acme.example/api", "is not an http(s) URL"),
    ("https://user:pw@models.acme.example/api", "must not carry credentials"),
])
def test_plain_http_is_refused_except_to_loopback(url, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ModelHttpFeed(url=url, environ={}).deliveries()


@pytest.mark.parametrize("url", ["https://models.acme.example/api/", "http://127.0.0.1:8000",
                                 "http://localhost:8000/x", "http://[::1]:8000"])
def test_https_and_loopback_http_are_accepted(url):
    client = ManagerClient(url)
    assert client.base_url == url.rstrip("/")
    client.close()


def test_tls_certificates_are_verified():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("certificate verify failed", request=request)

    client = ManagerClient("https://models.acme.example/api", attempts=1, transport=httpx.MockTransport(refuse))
    with pytest.raises(DataError, match="cannot connect.*certificate verify failed"):
        client.get("/models")


# ---------------------------------------------------------------------------
# The sandbox's files, the registration, the command
# ---------------------------------------------------------------------------


def test_the_sandbox_models_written_as_files_are_what_the_http_feed_delivers(tmp_path, sandbox, http_feed):
    paths = write_model_files(tmp_path / "drop", sandbox.notices())
    assert [p.name for p in paths] == ["GRO-80-20_2026.1.csv", "GRO-80-20_2026.2.csv", "INC-30-70_2026.1.csv"]
    by_file = ModelFileFeed(directory=tmp_path / "drop", environ={}).deliveries()
    by_http = http_feed.deliveries()
    as_lines = [attrs.evolve(d, cash_weight=None, lines=(*d.lines, ModelLine(
        IdentifierType.CASH, "USD", "$CASH", d.cash_weight,
        action=LineAction.UPDATE if d.change_type is ChangeType.DELTA else LineAction.SET))) for d in by_http]
    key = lambda d: (d.effective_date, d.model_id)  # noqa: E731
    assert sorted(map(without_origin, by_file), key=key) == sorted(map(without_origin, as_lines), key=key)


def test_registering_reads_no_settings_and_opens_no_connection(monkeypatch, tmp_path):
    broken = write(tmp_path, "broken.toml", "[models\n")
    monkeypatch.setenv("SMARTX_CONFIG", str(broken))
    feeds: list = []
    smartx_models_thirdparty.register_model_feeds(feeds.append)
    assert [feed.name for feed in feeds] == ["files", "manager-api"]
    assert all(isinstance(feed, ModelFeed) for feed in feeds)
    with pytest.raises(SmartxError, match="not valid TOML"):  # the settings are read on first use
        feeds[0].deliveries()


def test_both_feeds_are_registered_through_the_hook():
    feeds = registered("register_model_feeds", "model feed")
    assert isinstance(feeds["files"], ModelFileFeed) and isinstance(feeds["manager-api"], ModelHttpFeed)


def test_the_seed_holds_real_etfs_by_valid_cusips_and_sums_to_one():
    for delivery in deliveries_of(seed_notices()):
        assert all(line.identifier_type is IdentifierType.CUSIP and cusip(line.identifier) == line.identifier
                   for line in delivery.lines)
        if delivery.change_type is ChangeType.FULL:
            assert sum(line.weight for line in delivery.lines) + delivery.cash_weight == 1


def test_models_sandbox_serves_the_seed_and_writes_its_files_until_stopped(tmp_path):
    proc, url, line = start("models-sandbox", "--port", "0", "--files", str(tmp_path / "drop"))
    try:
        assert url.endswith("/api/v1")
        models = httpx.get(f"{url}/models", timeout=5).json()["models"]
        assert [(m["model_id"], m["latest_version"]) for m in models] == [("GRO-80-20", "2026.2"),
                                                                          ("INC-30-70", "2026.1")]
    finally:
        out = stop(proc)
    assert f"export SMARTX_MODELS_URL={url}" in out and "SMARTX_MODELS_DIRECTORY" in out
    assert len(list((tmp_path / "drop").glob("*.csv"))) == 3
    assert "stopped" in out


# ---------------------------------------------------------------------------
# The model-feed contract, for both feeds
# ---------------------------------------------------------------------------


class TestFileFeedContract(ModelFeedContract):
    """Publishing drops a canonical CSV file, one per version, named in publishing order."""

    @pytest.fixture
    def make_feed(self):
        def make(directory: Path) -> FeedWorld:
            count = itertools.count(1)
            return FeedWorld(ModelFileFeed(directory=directory, environ={}),
                             lambda d: write_model_file(directory / f"{next(count):04d}_{d.model_id}.csv", [d]))
        return make


class TestHttpFeedContract(ModelFeedContract):
    """Publishing posts a notice to a sandbox manager that starts empty."""

    @pytest.fixture
    def make_feed(self):
        started: list[ManagerSandbox] = []

        def make(directory: Path) -> FeedWorld:
            sandbox = ManagerSandbox([]).start()
            started.append(sandbox)
            return FeedWorld(ModelHttpFeed(url=sandbox.base_url, environ={}), sandbox.publish)

        yield make
        for sandbox in started:
            sandbox.stop()
