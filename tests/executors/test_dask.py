"""The dask executor against a LocalCluster on the loopback: the same proposals as the local executor."""

import json
from decimal import Decimal

import pytest

from smartx_engine.errors import DataError, ExecutorError
from smartx_engine.executors import executors
from smartx_engine.executors import dask as dask_executor
from smartx_engine.executors.dask import DaskExecutor
from smartx_engine.executors.local import LocalExecutor
from smartx_engine.rebalance import review
from smartx_engine.rebalance.runs import rebalance

from .conftest import AS_OF, RULES
from .killing import KillsItsWorkerOnce


def stored_trades(store, run_id):
    return [(r["trade_id"], r["account_id"], r["sleeve_id"], r["symbol"], r["side"], r["quantity_e6"],
             r["est_price_e6"], r["reasons"], r["lots"], r["model_version"])
            for r in review.stored_trades(store, run_id=run_id)]


def test_both_executors_are_registered():
    found = executors()
    assert list(found) == ["dask", "local"]
    assert found["dask"].options == ("scheduler", "workers") and found["local"].options == ()


@pytest.mark.parametrize("scope", [{}, {"harvest_only": True}, {"household": "HH-TAX"},
                                   {"raise_cash": ("SCH-1007", Decimal(10000))}], ids=["all", "harvest", "hh", "cash"])
def test_dask_proposes_what_local_proposes_on_the_firm(firm, policies, cluster, scope):
    local = rebalance(firm, policies, AS_OF, dry_run=True, **scope)
    dask = rebalance(firm, policies, AS_OF, dry_run=True, executor=DaskExecutor(scheduler=cluster.scheduler_address),
                     **scope)
    assert dask == local and local.trades


def test_dask_stores_the_run_local_stores_on_the_small_book(imported, rules, cluster):
    from smartx_engine.dsl.policyset import load_rules
    from smartx_engine.store import Store

    policies, store = load_rules(rules), Store.open(imported)
    local = rebalance(store, policies, AS_OF)
    dask = rebalance(store, policies, AS_OF, executor=DaskExecutor(scheduler=cluster.scheduler_address, parts=3))
    assert local.trades and [p.trade.trade_id for p in dask.trades] != [p.trade.trade_id for p in local.trades]
    strip = [row[1:] for row in stored_trades(store, local.run_id)]
    assert [row[1:] for row in stored_trades(store, dask.run_id)] == strip
    store.close()


def test_a_killed_worker_is_retried_without_duplicate_proposals(firm, policies, cluster, tmp_path):
    marker = tmp_path / "killed"
    local = rebalance(firm, policies, AS_OF, dry_run=True)
    executor = DaskExecutor(scheduler=cluster.scheduler_address, parts=4, task=KillsItsWorkerOnce(str(marker)))
    run = rebalance(firm, policies, AS_OF, executor=executor)
    assert marker.exists()  # a worker died mid-run
    rows = stored_trades(firm, run.run_id)
    assert len(rows) == len(local.trades) == len({(r[2], r[3], r[4]) for r in rows})  # no trade twice
    assert [r[2:5] for r in rows] == [(p.trade.sleeve_id, p.trade.symbol, str(p.trade.side)) for p in local.trades]
    assert firm.db.execute("select count(*) from runs").fetchone()[0] == 1


def test_a_runs_own_error_comes_back_as_itself(firm, policies, cluster):
    with pytest.raises(DataError, match="cannot raise 99999999.00 USD from account SCH-1007"):
        rebalance(firm, policies, AS_OF, raise_cash=("SCH-1007", Decimal("99999999.00")), dry_run=True,
                  executor=DaskExecutor(scheduler=cluster.scheduler_address))


def test_an_unreachable_scheduler_is_an_executor_error(firm, policies):
    executor = DaskExecutor(scheduler="tcp://127.0.0.1:9", connect_timeout=0.5)
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        rebalance(firm, policies, AS_OF, executor=executor)
    assert firm.db.execute("select count(*) from runs").fetchone()[0] == 0


def test_options_are_checked():
    assert DaskExecutor().with_options(workers=3).workers == 3
    with pytest.raises(ExecutorError, match="not both"):
        DaskExecutor().with_options(workers=3, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ExecutorError, match="takes no options"):
        LocalExecutor().with_options(scheduler="tcp://127.0.0.1:8786")


# ---------------------------------------------------------------------------- the command line


def cli_run(smartx, *args, expect=0):
    return smartx("--rules", str(RULES), "rebalance", "--all", "--as-of", str(AS_OF), "--dry-run", *args,
                  expect=expect)


def test_cli_dask_on_a_scheduler_gives_the_local_json(smartx, imported, cluster):
    local = json.loads(cli_run(smartx, "--json").output)
    dask = json.loads(cli_run(smartx, "--json", "--executor", "dask", "--scheduler", cluster.scheduler_address).output)
    assert dask == local and local


def test_cli_dask_starts_its_own_workers(smartx, imported):
    local = json.loads(cli_run(smartx, "--json").output)
    assert json.loads(cli_run(smartx, "--json", "--executor", "dask", "--workers", "1").output) == local


def test_cli_errors_teach(smartx, imported, monkeypatch):
    unknown = cli_run(smartx, "--executor", "daks", expect=1)
    assert "no executor named 'daks'; did you mean `dask`?" in unknown.output
    stray = cli_run(smartx, "--scheduler", "tcp://127.0.0.1:8786", expect=2)
    assert "--scheduler does not apply to the local executor" in stray.output
    both = cli_run(smartx, "--executor", "dask", "--workers", "2", "--scheduler", "tcp://127.0.0.1:9", expect=1)
    assert "not both" in both.output
    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", 0.5)
    down = cli_run(smartx, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", expect=1)
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in down.output and "Traceback" not in down.output
    assert "--executor" in smartx("rebalance", "--help").output
