"""``smartx report``: performance, fees, tax and client reports."""

from __future__ import annotations

import datetime as dt

import click

from pathlib import Path

from ..dsl.policyset import load_rules
from .. import settings
from ..errors import DataError
from ..reporting.clientdata import client_report
from ..reporting.deductions import deduction_files
from ..reporting.reporters import reporters
from ..reporting.fees import FeeRun, fee_run, load_schedules, parse_period, required_dates
from ..reporting.performance import Performance, Scope, performance
from ..reporting.tax import TaxFigures, tax_report
from ..reporting.valuations import build_history
from ..reporting.value import ValueDelivered, value_delivered
from . import Env, cli, pass_env
from .output import emit, json_option, money, print_table
from .progress import progress_bar

DATE = click.DateTime(formats=["%Y-%m-%d"])

TAX_COLUMNS = ["short gains", "short losses", "long gains", "long losses", "disallowed", "net short", "net long",
               "harvested"]


@cli.group(name="report")
def report_group() -> None:
    """Reports: performance, fees, realised gains and the client report.

    \b
    Examples:
      smartx report performance SCH-1001 --start 2026-01-01 --end 2026-09-30
      smartx report performance --sleeve S-1001-CORE --by month --json
      smartx report tax --year 2026 --household HH-CHEN
      smartx report value SCH-1001 --start 2026-01-01 --end 2026-09-30
      smartx report fees --period 2026Q3 --household HH-CHEN
      smartx report fees --period 2026Q3 --account SCH-1001      (one invoice, step by step)
      smartx report client SCH-1001 --period 2026Q3 --format pdf -o chen-2026Q3.pdf
      smartx report client --all --period 2026Q3 --format pdf -o reports/
    """


def scope_options(command):
    """ACCOUNT, or --sleeve ID, or --household ID: what a report is about."""
    for option in reversed((click.argument("account_id", metavar="[ACCOUNT]", required=False),
                            click.option("--sleeve", "sleeve_id", help="One sleeve instead of an account."),
                            click.option("--household", "household_id", help="A whole household instead of an account."))):
        command = option(command)
    return command


def _scope(account_id: str | None, sleeve_id: str | None, household_id: str | None) -> Scope:
    given = [(k, v) for k, v in (("account", account_id), ("sleeve", sleeve_id), ("household", household_id)) if v]
    if len(given) != 1:
        raise click.UsageError("give one of ACCOUNT, --sleeve ID or --household ID")
    return Scope(*given[0])


def ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2%}"


@report_group.command(name="performance")
@scope_options
@click.option("--start", type=DATE, help="The first day of the period (default: the inception, the first transaction).")
@click.option("--end", type=DATE, help="The last day of the period (default: today).")
@click.option("--by", "by", type=click.Choice(["month", "quarter", "year"]), default="quarter", show_default=True,
              help="The calendar periods of the table.")
@click.option("--annualize", is_flag=True, help="Also annualise the returns (periods of a year or more only).")
@json_option
@pass_env
def report_performance(env: Env, account_id: str | None, sleeve_id: str | None, household_id: str | None,
                       start: dt.datetime | None, end: dt.datetime | None, by: str, annualize: bool,
                       as_json: bool) -> None:
    """Returns of an account (or a sleeve, or a household) over a period, against its benchmark.

    Time-weighted return: daily valuations, external flows (deposits, withdrawals) at the end of
    the day, daily returns linked; net of fees. Benchmark: the sleeves' own targets (model, blend
    or custom allocation) rebalanced daily, weighted by the sleeves' values. Modified Dietz: the
    period's return from its start and end values and day-weighted flows. Money-weighted: XIRR
    of the flows, Act/365F; "no solution" and "multiple roots" are said as such. Returns are not
    annualised unless --annualize is given, and only over a year or more. Conventions:
    docs/reporting.md.
    """
    scope = _scope(account_id, sleeve_id, household_id)
    with progress_bar() as report:
        report("reading the history and computing the returns", 0, 1)
        result = performance(env.store(), scope, start=start.date() if start else None,
                             end=end.date() if end else dt.date.today(), annualize=annualize)
    emit(as_json, result.as_json(), lambda: _print_performance(result, by, annualize))


def _print_performance(p: Performance, by: str, annualize: bool) -> None:
    print_table(f"{p.scope.label}: {p.start} to {p.end}" + (f" (inception {p.inception})" if p.inception else ""),
                ["opening", "net flows", "income", "fees", "gain", "closing"],
                [(money(p.opening), money(p.net_flows), money(p.income), money(p.fees), money(p.gain),
                  money(p.closing))], numeric=["opening", "net flows", "income", "fees", "gain", "closing"])
    rows = [("time-weighted (daily-linked)", ratio(p.twr)), ("benchmark (the targets)", ratio(p.benchmark)),
            ("excess", ratio(p.excess)),
            ("Modified Dietz", ratio(p.dietz.value) if p.dietz.value is not None else f"n/a: {p.dietz.reason}"),
            ("money-weighted (XIRR, per year)", ratio(p.money_weighted.rate) if p.money_weighted.rate is not None
             else f"n/a: {p.money_weighted.message}")]
    if p.annualized:
        rows += [("time-weighted, annualised", ratio(p.annualized[0])),
                 ("benchmark, annualised", ratio(p.annualized[1]))]
    elif annualize:
        rows.append(("annualised", "n/a: the period is shorter than a year"))
    print_table("Returns (not annualised unless said)", ["measure", "return"], rows, numeric=["return"])
    print_table(f"By {by} (* partial)", ["period", "from", "to", "return", "benchmark", "excess"],
                [(r.label + (" *" if r.partial else ""), r.start, r.end, ratio(r.twr), ratio(r.benchmark),
                  ratio(None if r.benchmark is None else r.twr - r.benchmark)) for r in p.periods[by]],
                numeric=["return", "benchmark", "excess"])


def _tax_cells(f: TaxFigures) -> tuple[str, ...]:
    return tuple(money(v) for v in (f.short_gains, f.short_losses, f.long_gains, f.long_losses, f.disallowed,
                                    f.net_short, f.net_long, f.harvested))


@report_group.command(name="tax")
@click.option("--year", type=int, required=True, help="The calendar year of the sales.")
@click.option("--account", "account_id", help="Only this account.")
@click.option("--household", "household_id", help="Only the accounts of this household.")
@json_option
@pass_env
def report_tax(env: Env, year: int, account_id: str | None, household_id: str | None, as_json: bool) -> None:
    """Realised gains by term, wash-sale disallowed losses and losses harvested, per account and household.

    The net of a term is what counts for tax: gains plus losses, less the losses a wash sale
    disallowed (deferred into the replacement's basis). Harvested: the losses of sales proposed
    as tax-loss harvests. IRAs and other tax-advantaged accounts are listed, not totalled.
    """
    store = env.store()
    if account_id:
        accounts = [store.account(account_id).account_id]
    elif household_id:
        accounts = [a.account_id for a in store.accounts(store.household(household_id).household_id)]
    else:
        accounts = None
    report = tax_report(store, year, account_ids=accounts)

    def human() -> None:
        print_table(f"Realised in {year}, by account", ["account", "household", "registration", *TAX_COLUMNS],
                    [(a.account_id, a.household_id, a.registration + ("" if a.taxable else " (not taxable)"),
                      *_tax_cells(a.figures)) for a in report.accounts], numeric=TAX_COLUMNS)
        print_table(f"Realised in {year}, by household (taxable accounts)", ["household", *TAX_COLUMNS],
                    [(h, *_tax_cells(f)) for h, f in sorted(report.households().items())], numeric=TAX_COLUMNS,
                    empty="no taxable account")

    emit(as_json, report.as_json(), human)


@report_group.command(name="value")
@scope_options
@click.option("--start", type=DATE, help="The first day of the period (default: the first day of the end's year).")
@click.option("--end", type=DATE, help="The last day of the period (default: today).")
@json_option
@pass_env
def report_value(env: Env, account_id: str | None, sleeve_id: str | None, household_id: str | None,
                 start: dt.datetime | None, end: dt.datetime | None, as_json: bool) -> None:
    """The value delivered: tax alpha, drift kept within bands, trades avoided by bands, fees paid.

    Tax alpha is an estimate, with its assumptions printed: harvested losses at the account's
    rates, and the engine's lot choices against first in, first out on the same sales. The bands
    are the firm's policies (--rules) replayed on the sleeves as they were at each month's end.
    """
    scope = _scope(account_id, sleeve_id, household_id)
    last = end.date() if end else dt.date.today()
    first = start.date() if start else dt.date(last.year, 1, 1)
    store = env.store()
    history = build_history(store, first, last, sleeve_ids=scope.sleeve_ids(store))
    policies = load_rules(env.rules_dir) if env.rules_dir.is_dir() else None
    value = value_delivered(store, history, scope.rows(history), policies)
    emit(as_json, {"scope": scope.kind, "id": scope.ident, **value.as_json()},
         lambda: _print_value(scope, value, policies is not None))


def _print_value(scope: Scope, v: ValueDelivered, with_bands: bool) -> None:
    alpha = v.tax_alpha
    rows = [("tax alpha: harvesting", money(alpha.harvesting)), ("tax alpha: lot selection", money(alpha.lot_selection)),
            ("tax alpha: total", money(alpha.total)), ("fees paid", money(v.fees_paid))]
    if with_bands:
        rows += [("month-ends within bands", "n/a" if v.share_within_bands is None else
                  f"{v.share_within_bands:.0%} of {v.observed}"),
                 ("largest drift", "n/a" if v.largest_drift is None else f"{v.largest_drift:.2%}"),
                 ("trades avoided by bands", str(v.trades_avoided))]
    else:
        rows.append(("bands", "not evaluated: no rules directory (--rules)"))
    print_table(f"Value delivered to {scope.label}, {v.start} to {v.end}", ["measure", "value"], rows,
                numeric=["value"])
    if with_bands:
        print_table("By sleeve", ["sleeve", "policy", "month-ends", "within bands", "largest drift", "trades avoided"],
                    [(b.sleeve_id, b.policy, b.observed, b.within, f"{b.largest_drift:.2%}", b.trades_avoided)
                     for b in v.bands], numeric=["month-ends", "within bands", "largest drift", "trades avoided"],
                    empty="no sleeve with a target")
    click.echo("tax alpha assumes: " + "; ".join(alpha.assumptions))


@report_group.command(name="fees")
@click.option("--period", required=True, help="The billing period: a quarter (2026Q3) or a month (2026-07).")
@click.option("--household", "household_id", help="Only this household's accounts.")
@click.option("--account", "account_id", help="Show this account's invoice, every step of it.")
@click.option("--schedules", "schedules_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The fee schedules file (default: fees.toml in the rules directory).")
@click.option("--deduction-files", "deductions_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each custodian's fee-deduction file into this directory.")
@json_option
@pass_env
def report_fees(env: Env, period: str, household_id: str | None, account_id: str | None,
                schedules_path: Path | None, deductions_dir: Path | None, as_json: bool) -> None:
    """Bill every account for a period from the firm's fee schedules: an invoice per account.

    The schedules (docs/fees.md) say per account: tiered or cliff rates for the platform, the
    model manager and the advisor, billing in advance or in arrears, on the average daily balance
    or the period-end value, act/365 or act/act, minimums, exclusions, and whether breakpoints
    are found on the household's total. Each invoice shows every step of its calculation
    (--account, or --json). With --deduction-files, each custodian gets the file asking it to
    debit the fees (its own layout when its plugin has one, else the generic CSV).
    """
    store = env.store()
    schedules = load_schedules(schedules_path or env.rules_dir / "fees.toml")
    billing = parse_period(period)
    start, end = required_dates(schedules, billing)
    if household_id:
        household_id = store.household(household_id).household_id
    sleeves = None if not household_id else [s.sleeve_id for a in store.accounts(household_id)
                                             for s in store.sleeves(a.account_id)]
    with progress_bar() as report:
        report(f"reading the history from {start} to {end}", 0, 1)
        history = build_history(store, start, end, sleeve_ids=sleeves)
        run = fee_run(history, schedules, billing, household=household_id, progress=report)
    written = []
    if deductions_dir:
        deductions_dir.mkdir(parents=True, exist_ok=True)
        for custodian, file in deduction_files(store, run, dt.date.today()).items():
            (deductions_dir / file.filename).write_bytes(file.content)
            written.append({"custodian": custodian, "path": str(deductions_dir / file.filename)})
    if account_id:
        invoice = run.invoice(store.account(account_id).account_id)
        emit(as_json, invoice.as_json(), lambda: click.echo(
            f"Invoice {billing.label}, {invoice.account_id} (schedule {invoice.schedule}):\n{invoice.render()}"))
        return
    emit(as_json, {**run.as_json(), "deduction_files": written}, lambda: _print_fees(run, written))


def _print_fees(run: FeeRun, written: list[dict]) -> None:
    columns = ["account", "household", "schedule", "days", "platform", "manager", "advisor", "total"]
    print_table(f"Fees for {run.period.label} ({run.period.start} to {run.period.end})", columns,
                [(i.account_id, i.household_id, i.schedule, i.billed_days, *(money(v) for v in i.totals.values()),
                  money(i.total)) for i in run.invoices] +
                [("total", "", "", "", *(money(v) for v in run.totals.values()), money(run.total))],
                numeric=["days", "platform", "manager", "advisor", "total"], empty="no account to bill")
    for item in written:
        click.echo(f"{item['custodian']}: fee-deduction file {item['path']}")


@report_group.command(name="client")
@click.argument("account_id", metavar="[ACCOUNT]", required=False)
@click.option("--all", "everyone", is_flag=True, help="Every account: one file each, in the directory -o names.")
@click.option("--period", required=True, help="The period: a quarter (2026Q3) or a month (2026-07).")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="The file to write (default: ACCOUNT-PERIOD.FORMAT here); with --all, a directory.")
@click.option("--generated-on", type=DATE, help="The date printed as prepared (default: today).")
@json_option
@pass_env
def report_client(env: Env, account_id: str | None, everyone: bool, period: str, fmt: str, output: Path | None,
                  generated_on: dt.datetime | None, as_json: bool) -> None:
    """The client report of an account for a period, as an HTML page or a PDF to hand to the client.

    It shows the value change, the sleeves, the allocation against target, performance (the period,
    the year to date, one year and since inception, against the benchmark) with a growth chart,
    holdings with their gains, realised and unrealised gains, fees, the value delivered (tax alpha
    with its assumptions, drift kept within bands, trades avoided) and the conventions. The firm's
    name is the setting firm.name. The report is the plugin reporter `client`; --all writes one per
    account, with a progress bar.
    """
    if everyone == bool(account_id):
        raise click.UsageError("give ACCOUNT or --all")
    store = env.store()
    billing = parse_period(period)
    reporter = reporters("client")["client"]
    if fmt not in reporter.formats:
        raise click.UsageError(f"the client report renders {', '.join(reporter.formats)}")
    policies = load_rules(env.rules_dir) if env.rules_dir.is_dir() else None
    firm = settings.get(store, "firm.name")
    accounts = [a.account_id for a in store.accounts()] if everyone else [store.account(account_id).account_id]
    if everyone:
        directory = output or Path(f"client-reports-{billing.label}")
        directory.mkdir(parents=True, exist_ok=True)
        targets = {a: directory / f"{a}-{billing.label}.{fmt}" for a in accounts}
    else:
        targets = {accounts[0]: output or Path(f"{accounts[0]}-{billing.label}.{fmt}")}
    written, skipped = [], []
    with progress_bar() as report:
        for done, account in enumerate(accounts):
            report(f"client report {account}", done, len(accounts))
            try:
                content = client_report(store, account, billing.start, billing.end, billing.label, policies=policies,
                                        firm_name=firm, generated_on=(generated_on.date() if generated_on
                                                                      else dt.date.today()))
            except DataError as exc:
                if not everyone:
                    raise
                skipped.append({"account_id": account, "reason": str(exc)})
                continue
            try:
                targets[account].parent.mkdir(parents=True, exist_ok=True)
                targets[account].write_bytes(reporter.render(content, fmt))
            except OSError as exc:
                raise click.ClickException(f"cannot write {targets[account]}: {exc.strerror or exc}") from None
            written.append({"account_id": account, "path": str(targets[account])})
        report("done", len(accounts), len(accounts))

    def human() -> None:
        for item in written:
            click.echo(f"{item['account_id']}: {item['path']}")
        for item in skipped:
            click.secho(f"{item['account_id']}: not written: {item['reason']}", fg="yellow", err=True)
    emit(as_json, {"period": billing.label, "format": fmt, "written": written, "skipped": skipped}, human)
