"""The embedded store: a ``Store`` façade over ``sqlite_utils.Database`` with domain methods.

Every write runs in one transaction and appends an audit record in that same transaction.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import sqlite_utils

from .bookdata import BookData, ImportSummary
from .domain import (
    Account, CashBalance, Household, Lot, ModelVersion, ModelWeight, Security, Sleeve, Transaction,
)
from .errors import ConflictError, DataError, Diagnostic, NotFoundError, did_you_mean
from .fixedpoint import MONEY, PRICE, QUANTITY
from .migrations import migrate

Clock = Callable[[], dt.datetime]

#: every model's latest version (highest ``seq``): a query of ``model_id, version``
LATEST_MODEL_VERSIONS = ("select model_id, version from model_versions v"
                         " where seq = (select max(seq) from model_versions x where x.model_id = v.model_id)")
#: each model's version in force on ``:as_of``: the latest (by seq) whose effective date has come
EFFECTIVE_MODEL_VERSIONS = (
    "select model_id, version from model_versions v where seq = (select max(seq) from model_versions x"
    " where x.model_id = v.model_id and x.effective_date <= :as_of)")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def default_actor() -> str:
    """Who is acting: ``SMARTX_ACTOR`` when set, else the operating-system user."""
    return os.environ.get("SMARTX_ACTOR") or getpass.getuser()


@attrs.frozen
class Position:
    """The lots of one security in one sleeve, summed."""

    sleeve_id: str
    symbol: str
    quantity: Decimal
    cost_basis: Decimal
    lots: int


@attrs.frozen
class RebalanceMark:
    """When a sleeve was last rebalanced, and to which version of its model (None without a model)."""

    sleeve_id: str
    version: str | None
    on: dt.date


@attrs.frozen
class ModelChange:
    """A sleeve whose model (or one model of its blend) has a newer version than the one it was
    last rebalanced to."""

    sleeve_id: str
    model_id: str
    rebalanced_version: str | None  # None: the model was assigned (or blended in) since
    latest_version: str
    rebalanced_on: dt.date
    share: Decimal = Decimal(1)  # the model's share of the sleeve's target: its weight in a blend, else 1


@attrs.frozen
class AuditRecord:
    audit_id: int
    at: str
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]


class Store:
    """A firm's database. Open with :meth:`open`; create with :meth:`create`."""

    def __init__(self, db: sqlite_utils.Database, *, actor: str | None = None, clock: Clock = _utc_now):
        self.db = db
        self.actor = actor or default_actor()
        self.clock = clock
        db.execute("pragma foreign_keys = on")
        db.execute("pragma busy_timeout = 10000")
        migrate(db)

    @classmethod
    def open(cls, path: str | Path, **kwargs: Any) -> Store:
        """Open an existing database, applying pending migrations."""
        if str(path) != ":memory:" and not Path(path).exists():
            raise NotFoundError(f"no database at {path}; create one with `smartx init`")
        return cls._connect(path, **kwargs)

    @classmethod
    def create(cls, path: str | Path, **kwargs: Any) -> Store:
        """Create (or bring up to date) a database at ``path``."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return cls._connect(path, **kwargs)

    @classmethod
    def _connect(cls, path: str | Path, **kwargs: Any) -> Store:
        db = sqlite_utils.Database(path, execute_plugins=False)
        if str(path) != ":memory:":
            db.enable_wal()
        return cls(db, **kwargs)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ transactions and audit

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All writes inside commit together or not at all."""
        with self.db.atomic():
            yield self

    def audit(self, action: str, subject: str | None = None, **details: Any) -> None:
        """Append an audit record (call inside the transaction that makes the change)."""
        self.db.execute(
            "insert into audit (at, actor, action, subject, details) values (?, ?, ?, ?, ?)",
            [self.clock().isoformat(timespec="seconds"), self.actor, action, subject,
             json.dumps(details, sort_keys=True, default=str)],
        )

    def audit_log(self, limit: int | None = None) -> list[AuditRecord]:
        sql = "select * from audit order by audit_id desc" + (" limit ?" if limit else "")
        rows = self.db.query(sql, [limit] if limit else [])
        return [AuditRecord(**{**row, "details": json.loads(row["details"])}) for row in rows]

    # ------------------------------------------------------------------ reads

    def households(self) -> list[Household]:
        return [Household.from_row(row) for row in self.db.query("select * from households order by 1")]

    def household(self, household_id: str) -> Household:
        return Household.from_row(self._one("households", "household_id", household_id, "household"))

    def accounts(self, household_id: str | None = None) -> list[Account]:
        where, params = ("where household_id = ?", [household_id]) if household_id else ("", [])
        rows = self.db.query(f"select * from accounts {where} order by account_id", params)
        return [Account.from_row(row) for row in rows]

    def account(self, account_id: str) -> Account:
        return Account.from_row(self._one("accounts", "account_id", account_id, "account"))

    def securities(self) -> list[Security]:
        return [Security.from_row(row) for row in self.db.query("select * from securities order by 1")]

    def sleeves(self, account_id: str | None = None) -> list[Sleeve]:
        where, params = ("where account_id = ?", [account_id]) if account_id else ("", [])
        rows = self.db.query(f"select * from sleeves {where} order by account_id, sleeve_id", params)
        return [Sleeve.from_row(row) for row in rows]

    def sleeve(self, sleeve_id: str) -> Sleeve:
        return Sleeve.from_row(self._one("sleeves", "sleeve_id", sleeve_id, "sleeve"))

    def lots(self, *, account_id: str | None = None, sleeve_id: str | None = None) -> list[Lot]:
        where, params = self._scope(account_id, sleeve_id)
        rows = self.db.query(f"select * from lots {where} order by sleeve_id, symbol, acquired, lot_id", params)
        return [Lot.from_row(row) for row in rows]

    def positions(self, *, account_id: str | None = None, sleeve_id: str | None = None) -> list[Position]:
        """Lots summed per sleeve and security (exact integer sums)."""
        where, params = self._scope(account_id, sleeve_id)
        rows = self.db.query(
            f"""select sleeve_id, symbol, sum(quantity_e6) as q, sum(cost_basis_cents) as c,
                count(*) as n from lots {where} group by sleeve_id, symbol order by sleeve_id, symbol""",
            params,
        )
        return [Position(r["sleeve_id"], r["symbol"], QUANTITY.to_decimal(r["q"]),
                         MONEY.to_decimal(r["c"]), r["n"]) for r in rows]

    def cash(self, *, account_id: str | None = None, sleeve_id: str | None = None) -> list[CashBalance]:
        where, params = self._scope(account_id, sleeve_id)
        rows = self.db.query(f"select * from cash {where} order by account_id, sleeve_id", params)
        return [CashBalance.from_row(row) for row in rows]

    def transactions(self, *, account_id: str | None = None, sleeve_id: str | None = None) -> list[Transaction]:
        where, params = self._scope(account_id, sleeve_id)
        rows = self.db.query(f"select * from transactions {where} order by sleeve_id, date, transaction_id", params)
        return [Transaction.from_row(row) for row in rows]

    def model_ids(self) -> list[str]:
        return [row["model_id"] for row in self.db.query("select model_id from models order by 1")]

    def model_versions(self, model_id: str) -> list[str]:
        """Versions of a model, oldest first."""
        self._one("models", "model_id", model_id, "model")
        rows = self.db.query("select version from model_versions where model_id = ? order by seq", [model_id])
        return [row["version"] for row in rows]

    def model_version(self, model_id: str, version: str | None = None) -> ModelVersion:
        """A version of a model; the latest when ``version`` is None."""
        versions = self.model_versions(model_id)
        if not versions:
            raise NotFoundError(f"model {model_id} has no versions")
        version = version or versions[-1]
        if version not in versions:
            raise NotFoundError(f"model {model_id} has no version {version!r} (it has {', '.join(versions)})")
        rows = self.db.query(
            "select symbol, weight from model_weights where model_id = ? and version = ? order by symbol",
            [model_id, version],
        )
        return ModelVersion(model_id, version, [ModelWeight(r["symbol"], r["weight"]) for r in rows])

    def latest_model_versions(self, as_of: dt.date | None = None) -> dict[str, str]:
        """The version of every model in force on ``as_of`` (None: the latest, effective or not)."""
        return {row["model_id"]: row["version"] for row in self.db.query(*versions_query(as_of))}

    def rebalance_marks(self) -> dict[str, RebalanceMark]:
        """When and to which model version each sleeve was last rebalanced; a sleeve never rebalanced is absent."""
        rows = self.db.query("select sleeve_id, rebalanced_version, rebalanced_on from sleeves"
                             " where rebalanced_on is not null order by sleeve_id")
        return {r["sleeve_id"]: RebalanceMark(r["sleeve_id"], r["rebalanced_version"],
                                              dt.date.fromisoformat(r["rebalanced_on"])) for r in rows}

    def model_changes(self, as_of: dt.date | None = None) -> list[ModelChange]:
        """The sleeves rebalanced before whose model's version in force on ``as_of`` (None: its
        latest) is not the version they were last rebalanced to (none: their model was assigned since);
        a blend sleeve has one change per model of its blend that changed."""
        versions, params = versions_query(as_of)
        rows = self.db.query(
            f"""select s.sleeve_id, s.model_id, s.rebalanced_version, l.version as latest, s.rebalanced_on,
                       '1' as share
                from sleeves s join ({versions}) l on l.model_id = s.model_id
                where s.rebalanced_on is not null
                and (s.rebalanced_version is null or s.rebalanced_version != l.version)
                union all
                select c.sleeve_id, c.model_id, c.rebalanced_version, l.version, s.rebalanced_on, c.weight
                from sleeve_blend_components c join sleeves s using (sleeve_id)
                join ({versions}) l on l.model_id = c.model_id
                where s.rebalanced_on is not null
                and (c.rebalanced_version is null or c.rebalanced_version != l.version)
                order by 1, 2""", params)
        return [ModelChange(r["sleeve_id"], r["model_id"], r["rebalanced_version"], r["latest"],
                            dt.date.fromisoformat(r["rebalanced_on"]), Decimal(r["share"])) for r in rows]

    def prices(self) -> dict[str, Decimal]:
        """The current price of every security."""
        return {row["symbol"]: PRICE.to_decimal(row["price_e6"])
                for row in self.db.query("select symbol, price_e6 from securities")}

    def count(self, table: str) -> int:
        return self.db.table(table).count

    def _one(self, table: str, key: str, value: str, kind: str) -> dict[str, Any]:
        rows = list(self.db.query(f"select * from {table} where {key} = ?", [value]))
        if not rows:
            choices = [r[key] for r in self.db.query(f"select {key} from {table}")]
            hint = did_you_mean(value, choices)
            raise NotFoundError(f"no {kind} {value!r}" + (f"; {hint}" if hint else ""))
        return rows[0]

    @staticmethod
    def _scope(account_id: str | None, sleeve_id: str | None) -> tuple[str, list[str]]:
        return where(account_id=account_id, sleeve_id=sleeve_id)

    def record_transaction(self, transaction: Transaction) -> None:
        """Add one transaction to the history (in the caller's database transaction)."""
        self.db.table("transactions").insert(_transaction_row(transaction))

    def add_lots(self, lots: Iterable[Lot]) -> None:
        """Add open lots (in the caller's database transaction)."""
        self.db.table("lots").insert_all(_lot_row(lot) for lot in lots)

    def add_realized(self, sales: Iterable[Any]) -> None:
        """Add realised sales (``tax.ledger.ClosedLot``'s fields; in the caller's database transaction)."""
        self.db.table("realized").insert_all(_realized_row(sale) for sale in sales)

    # ------------------------------------------------------------------ sleeves

    def create_sleeve(self, sleeve: Sleeve) -> Sleeve:
        """Add an empty sleeve to an account."""
        self.account(sleeve.account_id)
        if sleeve.model_id:
            self.model_versions(sleeve.model_id)
        if list(self.db.query("select 1 from sleeves where sleeve_id = ?", [sleeve.sleeve_id])):
            raise ConflictError(f"sleeve {sleeve.sleeve_id} already exists")
        with self.transaction():
            self.db.table("sleeves").insert(attrs.asdict(sleeve))
            self.db.table("cash").insert(
                {"sleeve_id": sleeve.sleeve_id, "account_id": sleeve.account_id, "amount_cents": 0}
            )
            self.audit("sleeve.create", sleeve.sleeve_id, **attrs.asdict(sleeve))
        return sleeve

    def assign_sleeve(self, sleeve_id: str, *, model_id: str | None = None, policy: str | None = None,
                      own_target: bool = False, details: Mapping[str, Any] | None = None) -> Sleeve:
        """Set a sleeve's target model and/or policy.

        A model replaces a blend or custom target. ``own_target`` leaves the sleeve no model, for the
        blend or custom target that ``targets.assign`` writes in the same transaction; ``details``
        are added to the audit record.
        """
        current = self.sleeve(sleeve_id)
        if model_id:
            self.model_versions(model_id)
        updated = attrs.evolve(current, model_id=None if own_target else model_id or current.model_id,
                               policy=policy or current.policy)
        new_model = {"rebalanced_version": None} if updated.model_id != current.model_id else {}
        with self.transaction():
            if model_id:
                self.db.execute("delete from sleeve_targets where sleeve_id = ?", [sleeve_id])
            self.db.table("sleeves").update(sleeve_id, {"model_id": updated.model_id, "policy": updated.policy,
                                                        **new_model})
            self.audit("sleeve.assign", sleeve_id, before=attrs.asdict(current), after=attrs.asdict(updated),
                       **(details or {}))
        return updated

    def mark_rebalanced(self, sleeves: Iterable[str] | Mapping[str, str | None],
                        as_of: dt.date) -> dict[str, str | None]:
        """Record that ``sleeves`` were rebalanced as of ``as_of``; the version each was rebalanced to.

        Given sleeve ids, each was rebalanced to its model's version in force on ``as_of``; given
        ``{sleeve_id: version}``, to that version of its model (None: the one in force). A sleeve without a model gets
        no version; a blend sleeve's models each get their version in force. Runs in the caller's transaction, if any, and is not audited: the caller audits.
        """
        if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
            raise TypeError(f"as_of must be a date, not {as_of!r}")
        wanted = dict(sleeves) if isinstance(sleeves, Mapping) else dict.fromkeys(sleeves)
        models = {r["sleeve_id"]: r["model_id"] for r in self.db.query(
            "select sleeve_id, model_id from sleeves where sleeve_id in (select value from json_each(?))",
            [json.dumps(list(wanted))])}
        for sleeve_id in sorted(wanted.keys() - models.keys()):
            self.sleeve(sleeve_id)  # raises NotFoundError, with a did-you-mean
        latest = self.latest_model_versions(as_of)
        known = {(r["model_id"], r["version"]) for r in self.db.query("select model_id, version from model_versions")}
        versions = {}
        for sleeve_id, version in wanted.items():
            model_id = models[sleeve_id]
            if model_id is None and version is not None:
                raise DataError(f"sleeve {sleeve_id} has no model, so no version {version!r} to be rebalanced to")
            if version is not None and (model_id, version) not in known:
                raise NotFoundError(f"model {model_id} has no version {version!r}")
            versions[sleeve_id] = version if version is not None else latest.get(model_id)
        in_force, params = versions_query(as_of)
        with self.transaction():
            self.db.conn.executemany(
                "update sleeves set rebalanced_version = ?, rebalanced_on = ? where sleeve_id = ?",
                [(version, as_of.isoformat(), sleeve_id) for sleeve_id, version in versions.items()])
            self.db.execute(  # a blend sleeve: each of its models, to its version in force
                f"""update sleeve_blend_components set rebalanced_version = (select l.version from ({in_force}) l
                    where l.model_id = sleeve_blend_components.model_id)
                    where sleeve_id in (select value from json_each(:sleeves))""",
                {**params, "sleeves": json.dumps(list(versions))})
        return versions

    # ------------------------------------------------------------------ book import

    def apply_book(self, book: BookData) -> ImportSummary:
        """Store a whole book in one transaction; the accounts it names get exactly its holdings.

        Accounts, securities, sleeves and prices are inserted or updated; lots and cash (and
        transactions, when the book has them) of the book's accounts are replaced. Model versions
        are immutable: an existing version must have the same weights.
        """
        try:
            return self._apply_book(book)
        except sqlite3.IntegrityError as exc:
            raise DataError(f"{book.source}: the book conflicts with the database ({exc}); nothing was imported") from None

    def _apply_book(self, book: BookData) -> ImportSummary:
        with self.transaction():
            self._check_ownership(book)
            added, unchanged = self._store_model_versions(book)
            named = [h for h in book.households if h.household_id not in book.unnamed_households]
            self._upsert("households", "household_id", named)
            self.db.table("households").insert_all(
                [attrs.asdict(h) for h in book.households if h.household_id in book.unnamed_households],
                pk="household_id", ignore=True)
            self._upsert("accounts", "account_id", book.accounts)
            self._store_securities(book.securities)
            self._upsert("sleeves", "sleeve_id", book.sleeves)
            self.db.execute(  # the book sets the model of the sleeves it lists: no blend or custom target stays
                "delete from sleeve_targets where sleeve_id in (select value from json_each(?))",
                [json.dumps([s.sleeve_id for s in book.sleeves])])
            scope = json.dumps(sorted({a.account_id for a in book.accounts}))
            replaced = (["lots", "cash"] + (["transactions"] if book.transactions is not None else [])
                        + (["realized"] if book.realized is not None else []))
            for table in replaced:
                self.db.execute(f"delete from {table} where account_id in (select value from json_each(?))", [scope])
            self.db.table("lots").insert_all(_lot_row(lot) for lot in book.lots)
            self.db.table("cash").insert_all(
                {"sleeve_id": c.sleeve_id, "account_id": c.account_id, "amount_cents": MONEY.to_int(c.amount)}
                for c in book.cash)
            self.db.execute(  # sleeves of these accounts that the book does not list keep a zero balance
                "insert into cash (sleeve_id, account_id, amount_cents) select sleeve_id, account_id, 0"
                " from sleeves where sleeve_id not in (select sleeve_id from cash)")
            if book.transactions is not None:
                self.db.table("transactions").insert_all(_transaction_row(t) for t in book.transactions)
            if book.realized is not None:
                self.db.table("realized").insert_all(_realized_row(c) for c in book.realized)
            if book.prices is not None:
                self.db.table("prices").upsert_all(
                    [{"symbol": p.symbol, "date": p.date.isoformat(), "close_e6": PRICE.to_int(p.close)}
                     for p in book.prices], pk=("symbol", "date"))
            summary = ImportSummary(
                source=book.source, digest=book.digest, households=len(book.households),
                accounts=len(book.accounts), securities=len(book.securities),
                model_versions_added=added, model_versions_unchanged=unchanged,
                sleeves=len(book.sleeves), lots=len(book.lots), cash=len(book.cash),
                transactions=None if book.transactions is None else len(book.transactions),
                prices=None if book.prices is None else len(book.prices),
            )
            self.audit("book.import", book.source, **attrs.asdict(summary))
        return summary

    def _store_securities(self, securities: Sequence[Security]) -> None:
        """Insert or update securities. A CUSIP given moves to its security (a ticker change leaves
        the old symbol without one); a security given none keeps the CUSIP stored."""
        rows = [{"symbol": s.symbol, "name": s.name, "asset_class": s.asset_class, "price_e6": PRICE.to_int(s.price),
                 **({"cusip": s.cusip} if s.cusip else {})} for s in securities]
        cusips = json.dumps([s.cusip for s in securities if s.cusip])
        self.db.execute("update securities set cusip = null where cusip in (select value from json_each(?))", [cusips])
        for with_cusip in (True, False):
            self.db.table("securities").upsert_all([r for r in rows if ("cusip" in r) == with_cusip], pk="symbol")

    def _check_ownership(self, book: BookData) -> None:
        """Refuse lots and sleeves whose ids belong to another account in the database."""
        problems = []
        for kind, table, values in (("sleeve", "sleeves", book.sleeves), ("lot", "lots", book.lots)):
            wanted = {getattr(v, f"{kind}_id"): v.account_id for v in values}
            rows = self.db.query(
                f"select {kind}_id as id, account_id from {table} where {kind}_id in (select value from json_each(?))",
                [json.dumps(list(wanted))])
            for row in rows:
                if row["account_id"] != wanted[row["id"]]:
                    file, line = book.locations.get((kind, row["id"]), (book.source, 1))
                    problems.append(Diagnostic(
                        file, line, 1, f"{kind} {row['id']} already belongs to account {row['account_id']}",
                        hint=f"{kind} ids are unique across the firm; give this {kind} another id"))
        if problems:
            raise DataError(f"{book.source}: the book was not imported", problems)

    def _upsert(self, table: str, pk: str, values: Sequence[Any]) -> None:
        self.db.table(table).upsert_all([_plain(attrs.asdict(v)) for v in values], pk=pk)

    def _store_model_versions(self, book: BookData) -> tuple[int, int]:
        added = unchanged = 0
        conflicts = []
        for mv in book.model_versions:
            key = (mv.model_id, mv.version)
            if list(self.db.query("select 1 from model_versions where model_id = ? and version = ?", key)):
                if self.model_version(*key).as_dict() == mv.as_dict():
                    unchanged += 1
                    continue
                file, line = book.locations.get(("model", f"{mv.model_id}@{mv.version}"), ("models.csv", 1))
                conflicts.append(Diagnostic(
                    file, line, None,
                    f"model {mv.model_id} version {mv.version} is already stored with other weights",
                    hint="model versions never change; give the new weights a new version"))
                continue
            self.db.table("models").insert({"model_id": mv.model_id}, ignore=True)
            seq = self.db.execute(
                "select coalesce(max(seq), 0) + 1 from model_versions where model_id = ?", [mv.model_id]
            ).fetchone()[0]
            self.db.table("model_versions").insert({"model_id": mv.model_id, "version": mv.version, "seq": seq,
                                                    "received_at": self.clock().isoformat(timespec="seconds")})
            self.db.table("model_weights").insert_all(
                {"model_id": mv.model_id, "version": mv.version, "symbol": w.symbol, "weight": str(w.weight)}
                for w in mv.weights)
            added += 1
        if conflicts:
            raise DataError(f"{book.source}: the book was not imported", conflicts)
        return added, unchanged


def where(**equals: Any) -> tuple[str, list[Any]]:
    """A parameterised ``where`` clause for the columns given a value (None and empty values are left out)."""
    given = {column: value for column, value in equals.items() if value}
    sql = " and ".join(f"{column} = ?" for column in given)
    return (f"where {sql}" if sql else ""), list(given.values())


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Decimal and enum values as exact text for the store."""
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()}


def versions_query(as_of: dt.date | None) -> tuple[str, dict[str, str]]:
    """The query of each model's version in force on ``as_of`` (None: its latest), with its parameters."""
    return (LATEST_MODEL_VERSIONS, {}) if as_of is None else (EFFECTIVE_MODEL_VERSIONS, {"as_of": as_of.isoformat()})


def _lot_row(lot: Lot) -> dict[str, Any]:
    return {
        "lot_id": lot.lot_id, "account_id": lot.account_id, "sleeve_id": lot.sleeve_id,
        "symbol": lot.symbol, "quantity_e6": QUANTITY.to_int(lot.quantity),
        "cost_basis_cents": MONEY.to_int(lot.cost_basis), "acquired": lot.acquired.isoformat(),
        "holding_from": lot.holding_from and lot.holding_from.isoformat(),
        "wash_adjustment_cents": MONEY.to_int(lot.wash_adjustment),
    }


def _realized_row(c: Any) -> dict[str, Any]:
    """A realised sale (``tax.ledger.ClosedLot``) as a row."""
    return {
        "transaction_id": c.transaction_id, "lot_id": c.lot_id, "account_id": c.account_id,
        "sleeve_id": c.sleeve_id, "symbol": c.symbol, "acquired": c.acquired.isoformat(),
        "holding_from": c.holding_from.isoformat(), "sold": c.sold.isoformat(),
        "quantity_e6": QUANTITY.to_int(c.quantity), "proceeds_cents": MONEY.to_int(c.proceeds),
        "cost_basis_cents": MONEY.to_int(c.cost_basis), "gain_cents": MONEY.to_int(c.gain), "term": str(c.term),
        "disallowed_cents": MONEY.to_int(c.disallowed), "permanent_cents": MONEY.to_int(c.permanent),
    }


def _transaction_row(t: Transaction) -> dict[str, Any]:
    return {
        "transaction_id": t.transaction_id, "account_id": t.account_id, "sleeve_id": t.sleeve_id,
        "date": t.date.isoformat(), "type": str(t.type), "symbol": t.symbol,
        "quantity_e6": None if t.quantity is None else QUANTITY.to_int(t.quantity),
        "price_e6": None if t.price is None else PRICE.to_int(t.price),
        "amount_cents": MONEY.to_int(t.amount), "lot_id": t.lot_id,
    }
