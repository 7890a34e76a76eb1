"""The gateway's REST endpoints under ``/api`` with their exact envelopes (API doc §2–§5)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from risk_manager.domain.enums import OrderStatus
from risk_manager.domain.error_codes import (
    LoginErrorCode,
    RetrieveBarErrorCode,
    SearchContractByIdErrorCode,
    SearchOrderByIdErrorCode,
    SearchOrderErrorCode,
    SearchPositionErrorCode,
    SearchTradeErrorCode,
)
from risk_manager.sim import wire
from risk_manager.sim.auth import TokenIssuer
from risk_manager.sim.bars import MAX_LIMIT, UNIT_SECONDS, intraday_expired, synthetic_bars
from risk_manager.sim.body import (
    BadField,
    get_bool,
    get_decimal,
    get_int,
    get_str,
    get_time,
    problem_response,
    read_body,
)
from risk_manager.sim.exchange import Exchange
from risk_manager.sim.hours import TradingHours
from risk_manager.sim.market import contract_name
from risk_manager.sim.order_query import OrderQuery, query_problem
from risk_manager.sim.orders import BracketRequest, PlaceRequest, RestResult
from risk_manager.types import JSON, Clock

MAX_SEARCH_RESULTS = 20
UNAUTHENTICATED = {"/api/Auth/loginKey", "/api/Auth/loginApp", "/api/Status/ping"}
TOKEN_KEY = web.RequestKey("token", str)  # set by the server's bearer check
CLAIMS_KEY: web.RequestKey[dict[str, Any]] = web.RequestKey("claims", dict)


def envelope(code: int = 0, message: str | None = None, **payload: Any) -> web.Response:
    """The response envelope (API doc §2): ``success``, ``errorCode``, ``errorMessage``, payload.

    ``message`` is None (JSON null) for domain errors, as the live gateway sends them (§3.1,
    §5.15, §12b). Only rejections the gateway explains carry text: ``Order/place`` code 2 and
    ``Order/modify`` code 3 (the reference's quoted reasons verbatim, §5.6/§5.7) and
    ``Invalid symbol``; see ``sim.orders`` and ``sim.exchange``."""
    return web.json_response(
        {"success": code == 0, "errorCode": int(code), "errorMessage": message, **payload}
    )


def outcome(result: RestResult, **payload: Any) -> web.Response:
    return envelope(result.code, result.message, **payload)


def _bracket(body: JSON, name: str) -> BracketRequest | None:
    raw = body.get(name)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadField(name, "must be an object {ticks, type}")
    ticks, kind = get_int(raw, "ticks"), get_int(raw, "type")
    assert ticks is not None and kind is not None
    return BracketRequest(ticks, kind)


class RestApi:
    def __init__(
        self,
        exchange: Exchange,
        tokens: TokenIssuer,
        *,
        username: str,
        api_key: str,
        seed: int,
        clock: Clock,
        hours: TradingHours | None = None,
    ) -> None:
        self.exchange = exchange
        self.tokens = tokens
        self._username = username
        self._api_key = api_key
        self._seed = seed
        self._clock = clock
        self._hours = hours  # None: the market never closes, bars exist at any hour

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/Status/ping", self.ping)
        routes: dict[str, Callable[[web.Request, JSON], Awaitable[web.Response]]] = {
            "Auth/loginKey": self.login_key,
            "Auth/loginApp": self.login_app,
            "Auth/validate": self.validate,
            "Auth/logout": self.logout,
            "Account/search": self.account_search,
            "Contract/search": self.contract_search,
            "Contract/searchById": self.contract_by_id,
            "Contract/available": self.contract_available,
            "History/retrieveBars": self.retrieve_bars,
            "Order/place": self.order_place,
            "Order/modify": self.order_modify,
            "Order/cancel": self.order_cancel,
            "Order/search": self.order_search,
            "Order/searchOpen": self.order_search_open,
            "Order/searchById": self.order_by_id,
            "Order/v2/query": self.order_query,
            "Position/searchOpen": self.position_search_open,
            "Position/closeContract": self.position_close,
            "Position/partialCloseContract": self.position_partial_close,
            "Trade/search": self.trade_search,
        }
        for path, handler in routes.items():
            app.router.add_post(f"/api/{path}", self._wrap(handler))

    @staticmethod
    def _wrap(
        handler: Callable[[web.Request, JSON], Awaitable[web.Response]],
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> web.Response:
            try:
                return await handler(request, await read_body(request))
            except BadField as error:
                return problem_response(error)

        return run

    async def ping(self, request: web.Request) -> web.Response:
        """The JSON string ``"pong"`` (application/json): the community clients parse the body
        as JSON or strip its quotes (API doc §12b)."""
        return web.json_response("pong")

    # ---- auth ----------------------------------------------------------------------------

    async def login_key(self, request: web.Request, body: JSON) -> web.Response:
        user, key = get_str(body, "userName"), get_str(body, "apiKey")
        assert user is not None and key is not None
        if user.lower() != self._username.lower() or key != self._api_key:
            return envelope(LoginErrorCode.INVALID_CREDENTIALS, None, token=None)
        return envelope(token=self.tokens.issue(self._username))

    async def login_app(self, request: web.Request, body: JSON) -> web.Response:
        """``Auth/loginApp`` (§3.2): the configured user with the API key as its password.

        ``deviceId``, ``appId`` and ``verifyKey`` are required but any value is accepted (the
        simulator has no registered applications).
        """
        user, password = get_str(body, "userName"), get_str(body, "password")
        for name in ("deviceId", "appId", "verifyKey"):
            get_str(body, name)
        assert user is not None and password is not None
        if user.lower() != self._username.lower() or password != self._api_key:
            return envelope(LoginErrorCode.INVALID_CREDENTIALS, None, token=None)
        return envelope(token=self.tokens.issue(self._username))

    async def validate(self, request: web.Request, body: JSON) -> web.Response:
        return envelope(newToken=self.tokens.issue(request[CLAIMS_KEY]["sub"]))

    async def logout(self, request: web.Request, body: JSON) -> web.Response:
        self.tokens.revoke(request[TOKEN_KEY])
        return envelope()

    # ---- accounts and contracts ----------------------------------------------------------

    async def account_search(self, request: web.Request, body: JSON) -> web.Response:
        get_bool(body, "onlyActiveAccounts")
        accounts = [wire.account_model(a) for a in self.exchange.accounts.values()]
        return envelope(accounts=accounts)

    def _contract(self, contract_id: str) -> dict[str, Any] | None:
        markets = self.exchange.markets
        spec = markets.spec(contract_id)
        if spec is None:
            return None
        name = contract_name(spec, contract_id)
        return wire.contract_model(contract_id, name, spec, active=markets.is_active(contract_id))

    def _front_contracts(self) -> list[dict[str, Any]]:
        found = (self._contract(cid) for cid in self.exchange.markets.front.values())
        return [c for c in found if c is not None]

    async def contract_search(self, request: web.Request, body: JSON) -> web.Response:
        text = (get_str(body, "searchText", required=False) or "").strip().lower()
        if get_bool(body, "live"):
            return envelope(contracts=[])  # every simulated account is practice/evaluation
        markets = self.exchange.markets
        hits = []
        for spec in markets.catalog:
            cid = markets.front[spec.symbol]
            fields = (spec.symbol, spec.root, contract_name(spec, cid), spec.description)
            if not text or any(text in f.lower() for f in fields):
                hits.append(self._contract(cid))
        return envelope(contracts=hits[:MAX_SEARCH_RESULTS])

    async def contract_by_id(self, request: web.Request, body: JSON) -> web.Response:
        cid = get_str(body, "contractId")
        assert cid is not None
        contract = self._contract(cid)
        if contract is None:
            code = SearchContractByIdErrorCode.CONTRACT_NOT_FOUND
            return envelope(code, None, contract=None)
        return envelope(contract=contract)

    async def contract_available(self, request: web.Request, body: JSON) -> web.Response:
        if get_bool(body, "live"):
            return envelope(contracts=[])  # as for Contract/search
        return envelope(contracts=self._front_contracts())

    async def retrieve_bars(self, request: web.Request, body: JSON) -> web.Response:
        cid = get_str(body, "contractId")
        live = get_bool(body, "live")
        start, end = get_time(body, "startTime"), get_time(body, "endTime")
        unit, unit_number = get_int(body, "unit"), get_int(body, "unitNumber")
        limit = get_int(body, "limit")
        partial = get_bool(body, "includePartialBar")
        assert cid and start and end and unit is not None and unit_number is not None
        assert limit is not None and partial is not None
        spec = self.exchange.markets.spec(cid)
        if spec is None or live:  # live data is not open to practice/evaluation accounts
            return envelope(RetrieveBarErrorCode.CONTRACT_NOT_FOUND, None, bars=None)
        if unit not in UNIT_SECONDS:
            return envelope(RetrieveBarErrorCode.UNIT_INVALID, None, bars=None)
        if unit_number <= 0:
            return envelope(RetrieveBarErrorCode.UNIT_NUMBER_INVALID, None, bars=None)
        if not 0 < limit <= MAX_LIMIT:
            return envelope(RetrieveBarErrorCode.LIMIT_INVALID, None, bars=None)
        now = self._clock()
        if intraday_expired(cid, unit, now):
            return envelope(bars=[])
        sessions = self._hours.sessions_before(spec, end, start) if self._hours else None
        bars = synthetic_bars(
            contract_id=cid,
            anchor=self.exchange.markets.market(cid).last,
            tick=spec.tick_size,
            seed=self._seed,
            start=start,
            end=end,
            unit=unit,
            unit_number=unit_number,
            limit=limit,
            include_partial=partial,
            now=now,
            sessions=sessions,
        )
        return envelope(bars=bars)

    # ---- orders --------------------------------------------------------------------------

    async def order_place(self, request: web.Request, body: JSON) -> web.Response:
        acct, cid = get_int(body, "accountId"), get_str(body, "contractId")
        kind, side, size = get_int(body, "type"), get_int(body, "side"), get_int(body, "size")
        assert acct is not None and cid is not None and kind is not None
        assert side is not None and size is not None
        req = PlaceRequest(
            account_id=acct,
            contract_id=cid,
            type=kind,
            side=side,
            size=size,
            limit_price=get_decimal(body, "limitPrice", required=False),
            stop_price=get_decimal(body, "stopPrice", required=False),
            trail_price=get_decimal(body, "trailPrice", required=False),
            custom_tag=get_str(body, "customTag", required=False),
            linked_order_id=get_int(body, "linkedOrderId", required=False),
            stop_loss=_bracket(body, "stopLossBracket"),
            take_profit=_bracket(body, "takeProfitBracket"),
        )
        result = self.exchange.place(req)
        return outcome(result, orderId=result.order_id)

    async def order_modify(self, request: web.Request, body: JSON) -> web.Response:
        acct, oid = get_int(body, "accountId"), get_int(body, "orderId")
        assert acct is not None and oid is not None
        result = self.exchange.modify(
            acct,
            oid,
            size=get_int(body, "size", required=False),
            limit_price=get_decimal(body, "limitPrice", required=False),
            stop_price=get_decimal(body, "stopPrice", required=False),
            trail_price=get_decimal(body, "trailPrice", required=False),
        )
        return outcome(result)

    async def order_cancel(self, request: web.Request, body: JSON) -> web.Response:
        acct, oid = get_int(body, "accountId"), get_int(body, "orderId")
        assert acct is not None and oid is not None
        return outcome(self.exchange.cancel(acct, oid))

    def _account_missing(self, acct: int) -> bool:
        return acct not in self.exchange.accounts

    async def order_search(self, request: web.Request, body: JSON) -> web.Response:
        acct = get_int(body, "accountId")
        start, end = (
            get_time(body, "startTimestamp"),
            get_time(body, "endTimestamp", required=False),
        )
        assert acct is not None and start is not None
        if self._account_missing(acct):
            return _no_account(SearchOrderErrorCode.ACCOUNT_NOT_FOUND, "orders")
        orders = [
            wire.order_model(o)
            for o in self.exchange.orders.values()
            if o.account_id == acct
            and o.status is not OrderStatus.SUSPENDED  # children are invisible here (§8.3)
            and _within(o.creation_timestamp, start, end)
        ]
        return envelope(orders=orders)

    async def order_search_open(self, request: web.Request, body: JSON) -> web.Response:
        acct = get_int(body, "accountId")
        assert acct is not None
        if self._account_missing(acct):
            return _no_account(SearchOrderErrorCode.ACCOUNT_NOT_FOUND, "orders")
        orders = [
            wire.order_model(o)
            for o in self.exchange.orders.values()
            if o.account_id == acct and o.status is OrderStatus.OPEN
        ]
        return envelope(orders=orders)

    async def order_by_id(self, request: web.Request, body: JSON) -> web.Response:
        acct, oid = get_int(body, "accountId"), get_int(body, "orderId")
        assert acct is not None and oid is not None
        order = self.exchange.orders.get(oid)
        if order is None or order.account_id != acct:
            code = SearchOrderByIdErrorCode.ORDER_NOT_FOUND
            return envelope(code, None, order=None)
        return envelope(order=wire.order_model(order))

    async def order_query(self, request: web.Request, body: JSON) -> web.Response:
        """``Order/v2/query`` (§5.12): filtered, sorted, paged; a bad request is a 400."""
        try:
            query = OrderQuery.parse(body)
        except BadField as error:
            return query_problem(error, request.path)
        if self._account_missing(query.account_id):
            return _no_account(SearchOrderErrorCode.ACCOUNT_NOT_FOUND, "orders", "totalCount")
        page, total = query.run(self.exchange.orders.values())
        return envelope(orders=[wire.order_model(o) for o in page], totalCount=total)

    # ---- positions and trades ------------------------------------------------------------

    async def position_search_open(self, request: web.Request, body: JSON) -> web.Response:
        acct = get_int(body, "accountId")
        assert acct is not None
        if self._account_missing(acct):
            return _no_account(SearchPositionErrorCode.ACCOUNT_NOT_FOUND, "positions")
        positions = [wire.position_model(p) for p in self.exchange.open_positions(acct)]
        return envelope(positions=positions)

    async def position_close(self, request: web.Request, body: JSON) -> web.Response:
        acct, cid = get_int(body, "accountId"), get_str(body, "contractId")
        assert acct is not None and cid is not None
        return outcome(self.exchange.close_position(acct, cid))

    async def position_partial_close(self, request: web.Request, body: JSON) -> web.Response:
        acct, cid = get_int(body, "accountId"), get_str(body, "contractId")
        size = get_int(body, "size")
        assert acct is not None and cid is not None and size is not None
        return outcome(self.exchange.close_position(acct, cid, size))

    async def trade_search(self, request: web.Request, body: JSON) -> web.Response:
        acct = get_int(body, "accountId")
        start = get_time(body, "startTimestamp", required=False)
        end = get_time(body, "endTimestamp", required=False)
        assert acct is not None
        if self._account_missing(acct):
            return _no_account(SearchTradeErrorCode.ACCOUNT_NOT_FOUND, "trades")
        trades = [
            wire.trade_model(t)
            for t in self.exchange.trades
            if t.account_id == acct and _within(t.creation_timestamp, start, end)
        ]
        return envelope(trades=trades)


def _no_account(code: int, *payloads: str) -> web.Response:
    return envelope(code, None, **dict.fromkeys(payloads))


def _within(when: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or when >= start) and (end is None or when <= end)
