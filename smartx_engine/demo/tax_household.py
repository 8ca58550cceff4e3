"""A second demo book: one household whose lots are rebuilt from its trading history.

``HH-TAX`` (the Patel family, the "tax demo household") holds a taxable individual account at
Schwab with two sleeves under the ``tax-managed`` policy, and a traditional IRA. Its book has no
``lots.csv``: the import rebuilds the lots and the realised sales from ``transactions.csv``
(relieving lots by the account's ``lot_method``, HIFO for the taxable account, and applying wash
sales), as a firm onboarding a household from a custodian's history would. The history is written
so that, on 2026-11-20 (the demo firm's ``as_of``), every tax rule of the engine has work to do:

- **A wash sale in the history.** The balanced sleeve sold 100 VNQ (bought in 2019 at 88.40) at
  80.10 on 2026-03-09 for a withdrawal and bought them back at 83.40 three weeks later: the import
  disallows the 830.00 loss, adds it to the new lot's basis and carries the 2019 holding period over.
- **A blocked wash sale.** The balanced sleeve invested new money in BND at 76.30 on 2026-09-29,
  then sold those shares at 74.10 on 2026-11-12 (a short-term loss of 1,298.00) to pay for a
  withdrawal. Its stocks ran and its bonds are now 9 points under target: it rebalances, and the
  BND it should buy would wash that loss, so it buys AGG, BND's substitute, instead.
- **A binding gain budget.** That sleeve must sell VTI bought in 2019 at 150.10 (331.42 today), a
  long-term gain of 181.32 a share; the account already realised 3,474.80 on QQQ in April (2,176.80
  net of the BND loss; the VNQ loss is disallowed), so the policy's 5,000 USD budget for the year
  cuts the VTI sell (to 25 of 82 shares, the growth sleeve's harvest in the same run making room).
- **A harvest with its substitute.** The growth sleeve is in its bands (it does not rebalance) and
  holds VEA bought at 66.10 in February (60.23 today): 300 shares at a loss of 1,761.00 (8.9%), which
  the policy's `harvest when lot.loss_pct >= 5% and lot.loss >= 1000 USD` marks. A run sells them
  and buys IEFA, VEA's substitute, keeping the exposure.
- **A transition.** None of the growth sleeve's funds is in INC-30-70: moving it there within a
  2,000 USD budget (less than the year's gains so far) sells the VEA loss first, then the gains
  that fit, and keeps the rest as legacy positions.

The IRA holds the balanced model, bought in 2021. Dividends and fees are left out: they move cash,
never lots. The securities and models are the firm book's own files, copied, so importing this book
changes nothing of the firm (the import updates securities and adds model versions from the book).
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import attrs

from .firm import _money, _write, custodian_number

HOUSEHOLD_ID, HOUSEHOLD_NAME = "HH-TAX", "Patel Family"
ST_RATE, LT_RATE = "0.37", "0.238"
TAXABLE, IRA = "SCH-1007", "SCH-1008"
BALANCED, GROWTH, RETIREMENT = "S-1007-BAL", "S-1007-GRO", "S-1008-CORE"
#: account id, name, registration, lot method (how the custodian relieved lots: the history's sells name none)
ACCOUNTS = (
    (TAXABLE, "Raj Patel Individual Brokerage", "individual", "HIFO"),
    (IRA, "Priya Patel Traditional IRA", "ira", "FIFO"),
)
#: sleeve id, account id, model id, policy
SLEEVES = (
    (BALANCED, TAXABLE, "BAL-60-40", "tax-managed"),
    (GROWTH, TAXABLE, "GRO-80-20", "tax-managed"),
    (RETIREMENT, IRA, "BAL-60-40", "balanced-ira"),
)
#: sleeve id, date, type, symbol, quantity, price; a deposit or withdrawal gives its amount as price
HISTORY = (
    # balanced sleeve: stocks and TIPS in 2019, bonds in 2023; VNQ sold at a loss for a withdrawal
    # in March 2026 and bought back three weeks later (a wash sale); new money put in BND in
    # September 2026, sold at a loss to pay for a withdrawal 8 days before the demo's date
    (BALANCED, "2019-06-03", "deposit", "", "", "210000.00"),
    (BALANCED, "2019-06-03", "buy", "VTI", "495", "150.10"),
    (BALANCED, "2019-06-03", "buy", "VEA", "930", "41.25"),
    (BALANCED, "2019-06-03", "buy", "VWO", "385", "41.60"),
    (BALANCED, "2019-06-03", "buy", "VNQ", "218", "88.40"),
    (BALANCED, "2019-06-03", "buy", "TIP", "432", "113.10"),
    (BALANCED, "2023-10-16", "deposit", "", "", "70000.00"),
    (BALANCED, "2023-10-16", "buy", "BND", "1030", "69.80"),
    (BALANCED, "2026-03-09", "sell", "VNQ", "100", "80.10"),
    (BALANCED, "2026-03-10", "withdrawal", "", "", "-7500.00"),
    (BALANCED, "2026-03-30", "deposit", "", "", "8500.00"),
    (BALANCED, "2026-03-30", "buy", "VNQ", "100", "83.40"),
    (BALANCED, "2026-09-29", "deposit", "", "", "45000.00"),
    (BALANCED, "2026-09-29", "buy", "BND", "590", "76.30"),
    (BALANCED, "2026-11-12", "sell", "BND", "590", "74.10"),
    (BALANCED, "2026-11-13", "withdrawal", "", "", "-39000.00"),
    # growth sleeve: opened in 2023; VEA added near its high in February; QQQ trimmed at a gain in April
    (GROWTH, "2023-02-01", "deposit", "", "", "160000.00"),
    (GROWTH, "2023-02-01", "buy", "ITOT", "740", "95.60"),
    (GROWTH, "2023-02-01", "buy", "QQQ", "55", "300.10"),
    (GROWTH, "2023-02-01", "buy", "VEA", "460", "46.80"),
    (GROWTH, "2023-02-01", "buy", "VWO", "380", "40.10"),
    (GROWTH, "2023-02-01", "buy", "AGG", "300", "99.10"),
    (GROWTH, "2023-02-01", "buy", "GLD", "26", "172.40"),
    (GROWTH, "2026-02-17", "deposit", "", "", "24200.00"),
    (GROWTH, "2026-02-17", "buy", "VEA", "300", "66.10"),
    (GROWTH, "2026-04-15", "sell", "QQQ", "14", "548.30"),
    (GROWTH, "2026-04-15", "buy", "AGG", "75", "98.20"),
    # the IRA: a rollover invested in the balanced model in 2021
    (RETIREMENT, "2021-03-01", "deposit", "", "", "130000.00"),
    (RETIREMENT, "2021-03-01", "buy", "VTI", "150", "198.50"),
    (RETIREMENT, "2021-03-01", "buy", "VEA", "340", "49.10"),
    (RETIREMENT, "2021-03-01", "buy", "VWO", "140", "53.20"),
    (RETIREMENT, "2021-03-01", "buy", "VNQ", "80", "90.10"),
    (RETIREMENT, "2021-03-01", "buy", "BND", "548", "85.40"),
    (RETIREMENT, "2021-03-01", "buy", "TIP", "157", "125.60"),
)
#: the sale whose loss a purchase of BND would wash
WASH_SALE = (BALANCED, "2026-11-12", "BND")
COLUMNS = {
    "accounts.csv": "account_id,name,custodian,household_id,registration,st_tax_rate,lt_tax_rate,household_name,"
                    "lot_method,custodian_account",
    "sleeves.csv": "sleeve_id,account_id,model_id,policy",
    "cash.csv": "account_id,sleeve_id,amount",
    "transactions.csv": "account_id,sleeve_id,date,type,symbol,quantity,price,amount",
}


@attrs.frozen
class TaxBook:
    """What :func:`write_tax_book` wrote, and the ids the demo refers to."""

    directory: Path
    as_of: dt.date
    household_id: str
    household_name: str
    accounts: int
    sleeves: int
    transactions: int
    taxable_account: str
    balanced_sleeve: str
    growth_sleeve: str
    ira_sleeve: str


def write_tax_book(directory: Path, firm_book_dir: Path, as_of: dt.date = dt.date(2026, 11, 20)) -> TaxBook:
    """Write the tax demo household's CSV book into ``directory`` (created, files replaced).

    ``firm_book_dir`` is the demo firm's book (:func:`smartx_engine.demo.firm.write_demo_book`):
    its securities and models are copied, so the two books agree on prices and model versions.
    The history is written for the firm's 2026-11-20; another ``as_of`` must still have the BND loss
    sale 5 to 15 days before it (so the whole history before it), or the scenario would not hold:
    ValueError.
    """
    directory, firm_book_dir = Path(directory), Path(firm_book_dir)
    sold = dt.date.fromisoformat(WASH_SALE[1])
    if not 5 <= (as_of - sold).days <= 15:
        raise ValueError(f"the tax demo household's history is written for 2026-11-20: its BND loss sale of "
                         f"{sold} must be 5 to 15 days before as_of, not {as_of}")
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("securities.csv", "models.csv"):
        shutil.copyfile(firm_book_dir / name, directory / name)
    accounts = [(account_id, name, "schwab", HOUSEHOLD_ID, registration, ST_RATE, LT_RATE, HOUSEHOLD_NAME, method,
                 custodian_number(account_id)) for account_id, name, registration, method in ACCOUNTS]
    _write(directory / "accounts.csv", COLUMNS["accounts.csv"], accounts)
    account_of = {sleeve_id: account_id for sleeve_id, account_id, *_ in SLEEVES}
    transactions = [(account_of[s], s, day, kind, symbol, quantity, "" if kind in ("deposit", "withdrawal") else price,
                     _amount(kind, quantity, price)) for s, day, kind, symbol, quantity, price in HISTORY]
    cash = {sleeve_id: Decimal(0) for sleeve_id, *_ in SLEEVES}
    for row in transactions:
        cash[row[1]] += row[-1]
    _write(directory / "sleeves.csv", COLUMNS["sleeves.csv"], SLEEVES)
    _write(directory / "cash.csv", COLUMNS["cash.csv"], [(account_of[s], s, amount) for s, amount in cash.items()])
    _write(directory / "transactions.csv", COLUMNS["transactions.csv"], transactions)
    return TaxBook(directory=directory, as_of=as_of, household_id=HOUSEHOLD_ID, household_name=HOUSEHOLD_NAME,
                   accounts=len(accounts), sleeves=len(SLEEVES), transactions=len(transactions),
                   taxable_account=TAXABLE, balanced_sleeve=BALANCED, growth_sleeve=GROWTH, ira_sleeve=RETIREMENT)


def _amount(kind: str, quantity: str, price: str) -> Decimal:
    """The signed cash effect of a history row: a buy pays, a sell receives quantity x price."""
    if kind == "buy":
        return -_money(Decimal(quantity) * Decimal(price))
    if kind == "sell":
        return _money(Decimal(quantity) * Decimal(price))
    return Decimal(price)
