"""A client for the Schwab Trader API: OAuth2 tokens, retries, typed results with Decimal amounts.

``SchwabClient(base_url, app_key=..., app_secret=..., token_path=...)`` talks to
``https://api.schwabapi.com`` by default, or to any base URL (the loopback sandbox in tests).
Paths are Schwab's: ``/v1/oauth/token`` and ``/trader/v1/...``.

* **Tokens** live in a JSON file outside the repository, mode 0600; a file that the group or
  others can read, or one inside a git work tree, is refused. The first token pair comes from the
  browser login (:meth:`SchwabClient.authorize_url`, then :meth:`SchwabClient.exchange_code`);
  the access token is refreshed ``leeway`` seconds before it expires, and once on a 401.
* **Retries**: 429 (honouring ``Retry-After``), 5xx, timeouts and connection errors are retried
  with exponential backoff, at most ``RetryPolicy.attempts`` tries. Placing an order is not
  idempotent: after a 5xx, a timeout or a dropped connection its outcome is unknown, so the client
  raises :class:`OrderOutcomeUnknown` instead of sending it again (the order pipeline reconciles).
* **Order rate**: order requests (place, cancel) are held to ``orders_per_minute``.
* **Results** are frozen attrs values (:mod:`.answers`, which also reads the JSON); quantities and money are ``Decimal`` (JSON numbers are
  parsed as Decimal, never float). A malformed body or a missing field raises
  :class:`smartx_engine.CustodianError` naming the endpoint and the field.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlencode

import attrs
import httpx

import smartx_engine
from smartx_engine import CustodianError

from .answers import (  # noqa: F401  (the typed answers are part of the client's API)
    AccountDetail, AccountNumber, Balances, Execution, OrderState, Position, TransactionRecord, TransferItem,
    _account, _dec, _get, _iso, _json, _list, _order, _retry_after, _service_error, _transaction, equity_order,
)

PRODUCTION_URL = "https://api.schwabapi.com"
TOKEN_PATH = "/v1/oauth/token"
TRADER = "/trader/v1"
REFRESH_TOKEN_LIFETIME = 7 * 24 * 3600  # Schwab refresh tokens last seven days
TRANSACTION_TYPES = (
    "TRADE", "RECEIVE_AND_DELIVER", "DIVIDEND_OR_INTEREST", "ACH_RECEIPT", "ACH_DISBURSEMENT",
    "CASH_RECEIPT", "CASH_DISBURSEMENT", "ELECTRONIC_FUND", "WIRE_OUT", "WIRE_IN", "JOURNAL",
    "MEMORANDUM", "MARGIN_CALL", "MONEY_MARKET", "SMA_ADJUSTMENT",
)
ENV = {"app_key": "SMARTX_SCHWAB_APP_KEY", "app_secret": "SMARTX_SCHWAB_APP_SECRET",
       "token_path": "SMARTX_SCHWAB_TOKEN_FILE", "base_url": "SMARTX_SCHWAB_BASE_URL"}
DEFAULT_TOKEN_PATH = Path("~/.config/smartx/schwab-token.json")


class OrderOutcomeUnknown(smartx_engine.OrderOutcomeUnknown):
    """An order request was sent but its answer was lost (5xx, timeout, dropped connection).

    The order may or may not exist at Schwab; it is never resent blindly. It is the kernel's
    :class:`smartx_engine.OrderOutcomeUnknown` (a ``CustodianError``).
    """


class SchwabRefused(CustodianError):
    """Schwab answered a request with a definite refusal (an HTTP 4xx other than 401 and 429)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------
# Configuration and tokens
# ---------------------------------------------------------------------------


@attrs.frozen
class RetryPolicy:
    attempts: int = 5  # tries in all, the first included
    base_delay: float = 0.5  # seconds; doubles each retry
    max_delay: float = 30.0  # cap on any one wait, Retry-After included
    timeout: float = 10.0  # seconds per request

    def backoff(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


@attrs.frozen
class Token:
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds
    refresh_expires_at: float


class TokenFile:
    """The token pair on disk: JSON, written atomically with mode 0600, refused if readable by others."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path).expanduser()

    def check(self) -> None:
        for parent in self.path.absolute().parents:
            if (parent / ".git").exists():
                raise CustodianError(f"Schwab token file {self.path} is inside a git work tree "
                                     f"({parent}); keep tokens outside the repository")

    def load(self) -> Token | None:
        self.check()
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CustodianError(f"Schwab token file {self.path} has mode {stat.S_IMODE(mode):04o}; "
                                 f"it must be readable by its owner only (chmod 600)")
        try:
            data = json.loads(self.path.read_text())
            return Token(str(data["access_token"]), str(data["refresh_token"]),
                         float(data["expires_at"]), float(data["refresh_expires_at"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise CustodianError(f"Schwab token file {self.path} is unreadable: {exc!r}") from None

    def save(self, token: Token) -> None:
        self.check()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(attrs.asdict(token), f)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)


# ---------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------


class SchwabClient:
    """The Schwab Trader API over httpx; see the module docstring."""

    def __init__(
        self,
        base_url: str = PRODUCTION_URL,
        *,
        app_key: str,
        app_secret: str,
        token_path: str | os.PathLike[str],
        retry: RetryPolicy = RetryPolicy(),
        orders_per_minute: int = 120,
        leeway: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ):
        self.base_url = base_url.rstrip("/")
        self.app_key, self._app_secret = app_key, app_secret
        self.tokens = TokenFile(token_path)
        self.tokens.check()
        self.retry, self.leeway = retry, leeway
        self.orders_per_minute = orders_per_minute
        self._sleep, self._clock = sleep, clock
        self._token: Token | None = None
        self._order_times: deque[float] = deque()
        self._http = httpx.Client(timeout=retry.timeout, follow_redirects=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> SchwabClient:
        """A client configured from ``SMARTX_SCHWAB_*`` environment variables (see ``ENV``)."""
        env = os.environ if env is None else env
        missing = [ENV[k] for k in ("app_key", "app_secret") if not env.get(ENV[k])]
        if missing:
            raise CustodianError(f"Schwab credentials missing: set {', '.join(missing)}")
        return cls(env.get(ENV["base_url"]) or PRODUCTION_URL, app_key=env[ENV["app_key"]],
                   app_secret=env[ENV["app_secret"]],
                   token_path=env.get(ENV["token_path"]) or DEFAULT_TOKEN_PATH, **kwargs)

    @classmethod
    def from_settings(cls, settings: Mapping[str, str], **kwargs: Any) -> SchwabClient:
        """A client from ``plugin_settings("schwab")``: ``app_key``, ``app_secret``, ``token_file``,
        ``base_url`` and, optionally, ``orders_per_minute`` (the config file's ``[schwab]`` table,
        overridden by ``SMARTX_SCHWAB_APP_KEY`` and the other variables of ``ENV``)."""
        missing = [key for key in ("app_key", "app_secret") if not settings.get(key)]
        if missing:
            raise CustodianError(
                "Schwab credentials missing: set " + ", ".join(missing) + " in the [schwab] table of the smartx "
                "config file (SMARTX_CONFIG, default ~/.config/smartx/config.toml) or "
                + ", ".join(f"SMARTX_SCHWAB_{k.upper()}" for k in missing))
        if settings.get("orders_per_minute") and "orders_per_minute" not in kwargs:
            try:
                kwargs["orders_per_minute"] = int(settings["orders_per_minute"])
            except ValueError:
                raise CustodianError(f"Schwab setting orders_per_minute is not a whole number: "
                                     f"{settings['orders_per_minute']!r}") from None
        return cls(settings.get("base_url") or PRODUCTION_URL, app_key=settings["app_key"],
                   app_secret=settings["app_secret"],
                   token_path=settings.get("token_file") or DEFAULT_TOKEN_PATH, **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- OAuth ------------------------------------------------------------------------------------

    def authorize_url(self, redirect_uri: str) -> str:
        """The browser login URL; Schwab redirects to ``redirect_uri`` with ``?code=...``."""
        query = urlencode({"response_type": "code", "client_id": self.app_key, "redirect_uri": redirect_uri})
        return f"{self.base_url}/v1/oauth/authorize?{query}"

    def exchange_code(self, code: str, redirect_uri: str) -> Token:
        """Trade the login's authorization code for a token pair and save it."""
        return self._grant({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})

    def refresh(self) -> Token:
        """Get a new access token with the refresh token and save the pair."""
        token = self._token or self.tokens.load()
        if token is None:
            raise CustodianError(f"no Schwab token at {self.tokens.path}: log in first (exchange_code)")
        if self._clock() >= token.refresh_expires_at:
            raise CustodianError("the Schwab refresh token has expired (they last 7 days): log in again")
        return self._grant({"grant_type": "refresh_token", "refresh_token": token.refresh_token}, token)

    def _grant(self, form: dict[str, str], previous: Token | None = None) -> Token:
        endpoint = f"POST {TOKEN_PATH}"
        basic = base64.b64encode(f"{self.app_key}:{self._app_secret}".encode()).decode()
        response = self._send("POST", TOKEN_PATH, endpoint, authorised=False, content=urlencode(form),
                              headers={"Authorization": f"Basic {basic}",
                                       "Content-Type": "application/x-www-form-urlencoded"})
        body = _json(response, endpoint)
        now = self._clock()
        refresh = _get(body, "refresh_token", endpoint, required=previous is None)
        if previous is not None and refresh in (None, previous.refresh_token):
            refresh, refresh_expires_at = previous.refresh_token, previous.refresh_expires_at
        else:  # a new refresh token: its seven days start now
            refresh_expires_at = now + REFRESH_TOKEN_LIFETIME
        token = Token(
            access_token=str(_get(body, "access_token", endpoint)), refresh_token=str(refresh),
            expires_at=now + float(_dec(body, "expires_in", endpoint)),
            refresh_expires_at=refresh_expires_at,
        )
        self.tokens.save(token)
        self._token = token
        return token

    def _access_token(self) -> str:
        if self._token is None:
            self._token = self.tokens.load()
            if self._token is None:
                raise CustodianError(f"no Schwab token at {self.tokens.path}: log in first (exchange_code)")
        if self._clock() >= self._token.expires_at - self.leeway:
            self.refresh()
        return self._token.access_token

    # -- transport ---------------------------------------------------------------------------------

    def _send(self, method: str, path: str, endpoint: str, *, authorised: bool = True,
              idempotent: bool = True, **kwargs: Any) -> httpx.Response:
        """Send with retries; return a 2xx response or raise CustodianError naming ``endpoint``."""
        base_headers = dict(kwargs.pop("headers", None) or {})
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            retry_after = None
            headers = dict(base_headers)
            if authorised:
                headers["Authorization"] = f"Bearer {self._access_token()}"
            try:
                response = self._http.request(method, self.base_url + path, headers=headers, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never reached Schwab
                problem = f"cannot connect ({exc.__class__.__name__})"
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if not idempotent:
                    raise OrderOutcomeUnknown(
                        f"Schwab {endpoint}: the answer was lost ({exc.__class__.__name__}); "
                        f"the order may exist: reconcile before sending it again") from None
                problem = f"no answer ({exc.__class__.__name__})"
            else:
                status = response.status_code
                if status < 400:
                    return response
                if status == 401 and authorised and not refreshed:
                    refreshed = True
                    self.refresh()
                    attempt -= 1  # a token refresh is not a retry
                    continue
                if status >= 500 and not idempotent:
                    raise OrderOutcomeUnknown(
                        f"Schwab {endpoint}: HTTP {status} after sending: the order may exist; "
                        f"reconcile before sending it again")
                if status != 429 and status < 500:
                    raise SchwabRefused(f"Schwab {endpoint}: HTTP {status}: {_service_error(response)}", status)
                problem = f"HTTP {status}"
                if status == 429:
                    retry_after = _retry_after(response)
            if attempt >= self.retry.attempts:
                raise CustodianError(f"Schwab {endpoint}: {problem}, gave up after {attempt} tries")
            delay = self.retry.backoff(attempt) if retry_after is None else retry_after
            self._sleep(min(delay, self.retry.max_delay))

    def _get_json(self, path: str, endpoint: str, params: Mapping[str, Any] | None = None) -> Any:
        return _json(self._send("GET", path, endpoint, params=params), endpoint)

    def _order_slot(self) -> None:
        """Wait until one more order request fits in ``orders_per_minute``."""
        now = self._clock()
        while self._order_times and now - self._order_times[0] >= 60:
            self._order_times.popleft()
        if len(self._order_times) >= self.orders_per_minute:
            self._sleep(60 - (now - self._order_times[0]))
            self._order_times.popleft()
        self._order_times.append(self._clock())

    # -- accounts ----------------------------------------------------------------------------------

    def account_numbers(self) -> list[AccountNumber]:
        endpoint = f"GET {TRADER}/accounts/accountNumbers"
        rows = _list(self._get_json(f"{TRADER}/accounts/accountNumbers", endpoint), endpoint, "$")
        return [AccountNumber(str(_get(r, "accountNumber", endpoint, f"[{i}]")),
                              str(_get(r, "hashValue", endpoint, f"[{i}]"))) for i, r in enumerate(rows)]

    def account(self, account_hash: str) -> AccountDetail:
        """One account with its balances and positions."""
        endpoint = f"GET {TRADER}/accounts/{{accountHash}}"
        body = self._get_json(f"{TRADER}/accounts/{account_hash}", endpoint, {"fields": "positions"})
        return _account(body, endpoint)

    def accounts(self) -> list[AccountDetail]:
        endpoint = f"GET {TRADER}/accounts"
        rows = _list(self._get_json(f"{TRADER}/accounts", endpoint, {"fields": "positions"}), endpoint, "$")
        return [_account(r, endpoint, f"[{i}].") for i, r in enumerate(rows)]

    def transactions(self, account_hash: str, start: datetime, end: datetime,
                     types: Sequence[str] = TRANSACTION_TYPES) -> list[TransactionRecord]:
        endpoint = f"GET {TRADER}/accounts/{{accountHash}}/transactions"
        params = {"startDate": _iso(start), "endDate": _iso(end), "types": ",".join(types)}
        rows = _list(self._get_json(f"{TRADER}/accounts/{account_hash}/transactions", endpoint, params),
                     endpoint, "$")
        return [_transaction(r, endpoint, f"[{i}].") for i, r in enumerate(rows)]

    # -- orders ------------------------------------------------------------------------------------

    def place_order(self, account_hash: str, order: Mapping[str, Any]) -> int:
        """Place an order (wire JSON, e.g. from :func:`equity_order`); returns the new order id."""
        endpoint = f"POST {TRADER}/accounts/{{accountHash}}/orders"
        self._order_slot()
        response = self._send("POST", f"{TRADER}/accounts/{account_hash}/orders", endpoint,
                              idempotent=False, json=dict(order))
        location = response.headers.get("Location")
        match = re.search(r"/accounts/\w+/orders/(\d+)$", location or "")
        if match is None:
            raise CustodianError(f"Schwab {endpoint}: header Location is missing or has no order id: "
                                 f"{location!r}")
        return int(match[1])

    def get_order(self, account_hash: str, order_id: int) -> OrderState:
        endpoint = f"GET {TRADER}/accounts/{{accountHash}}/orders/{{orderId}}"
        return _order(self._get_json(f"{TRADER}/accounts/{account_hash}/orders/{order_id}", endpoint),
                      endpoint)

    def orders(self, account_hash: str, start: datetime, end: datetime,
               status: str | None = None) -> list[OrderState]:
        """Orders entered between ``start`` and ``end`` (for reconciling after a lost answer)."""
        endpoint = f"GET {TRADER}/accounts/{{accountHash}}/orders"
        params = {"fromEnteredTime": _iso(start), "toEnteredTime": _iso(end)}
        if status:
            params["status"] = status
        rows = _list(self._get_json(f"{TRADER}/accounts/{account_hash}/orders", endpoint, params), endpoint, "$")
        return [_order(r, endpoint, f"[{i}].") for i, r in enumerate(rows)]

    def cancel_order(self, account_hash: str, order_id: int) -> None:
        endpoint = f"DELETE {TRADER}/accounts/{{accountHash}}/orders/{{orderId}}"
        self._order_slot()
        self._send("DELETE", f"{TRADER}/accounts/{account_hash}/orders/{order_id}", endpoint)
