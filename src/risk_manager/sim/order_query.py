"""``POST /api/Order/v2/query``: the paged order search (API doc §5.12, §8.3).

Request: ``filter`` (required) = ``{accountId (required), statuses, contractId, createdAfter,
createdBefore}``, plus ``pageSize``, ``pageOffset``, ``sortBy`` (0 CreatedAt, 1 Id),
``sortDirection`` (0 Asc, 1 Desc) and ``includeTotalCount``. Unlike ``Order/search`` it sees
every status, suspended bracket children included, and answers newest first by default.
The field names and enum values are the ones the community clients send (topstep-sdk
``orders.query``, project-x-py ``query_orders``); defaults and limits are our choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from risk_manager.domain.enums import OrderStatus
from risk_manager.sim.body import BadField, get_bool, get_int, get_str, get_time
from risk_manager.sim.records import SimOrder

DEFAULT_PAGE_SIZE = 50  # project-x-py's default
MAX_PAGE_SIZE = 1000
SORT_CREATED_AT, SORT_ID = 0, 1
ASC, DESC = 0, 1


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """A parsed ``Order/v2/query`` request; :meth:`run` answers it over the exchange's orders."""

    account_id: int
    statuses: frozenset[OrderStatus]  # empty = every status
    contract_id: str | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    page_size: int = DEFAULT_PAGE_SIZE
    page_offset: int = 0
    sort_by: int = SORT_CREATED_AT
    sort_direction: int = DESC
    include_total_count: bool = False

    @classmethod
    def parse(cls, body: dict[str, Any]) -> OrderQuery:
        """Read the request body; raises :class:`BadField` naming the first bad field."""
        raw = body.get("filter")
        if not isinstance(raw, dict):
            raise BadField("filter", "The filter field is required (an object with accountId).")
        account_id = get_int(raw, "accountId")
        assert account_id is not None
        size = _optional(body, "pageSize", DEFAULT_PAGE_SIZE)
        offset = _optional(body, "pageOffset", 0)
        sort_by = _optional(body, "sortBy", SORT_CREATED_AT)
        direction = _optional(body, "sortDirection", DESC)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise BadField("pageSize", f"must be 1..{MAX_PAGE_SIZE}, got {size}")
        if offset < 0:
            raise BadField("pageOffset", f"must be >= 0, got {offset}")
        if sort_by not in (SORT_CREATED_AT, SORT_ID):
            raise BadField("sortBy", f"must be 0 (CreatedAt) or 1 (Id), got {sort_by}")
        if direction not in (ASC, DESC):
            raise BadField("sortDirection", f"must be 0 (Asc) or 1 (Desc), got {direction}")
        return cls(
            account_id=account_id,
            statuses=_statuses(raw.get("statuses")),
            contract_id=get_str(raw, "contractId", required=False),
            created_after=get_time(raw, "createdAfter", required=False),
            created_before=get_time(raw, "createdBefore", required=False),
            page_size=size,
            page_offset=offset,
            sort_by=sort_by,
            sort_direction=direction,
            include_total_count=bool(get_bool(body, "includeTotalCount", required=False)),
        )

    def matches(self, order: SimOrder) -> bool:
        """True when ``order`` passes every filter field that was given."""
        return (
            order.account_id == self.account_id
            and (not self.statuses or order.status in self.statuses)
            and (self.contract_id is None or order.contract_id == self.contract_id)
            and (self.created_after is None or order.creation_timestamp >= self.created_after)
            and (self.created_before is None or order.creation_timestamp < self.created_before)
        )

    def run(self, orders: Iterable[SimOrder]) -> tuple[list[SimOrder], int | None]:
        """``(page, totalCount)``: the requested page of matching orders, and the number of
        matching orders over every page when ``includeTotalCount`` asked for it (else None).

        CreatedAt ties (a bracket entry and its children share one timestamp) break by id in
        the same direction.
        """
        found = [o for o in orders if self.matches(o)]
        if self.sort_by == SORT_ID:
            found.sort(key=lambda o: o.id, reverse=self.sort_direction == DESC)
        else:
            found.sort(
                key=lambda o: (o.creation_timestamp, o.id), reverse=self.sort_direction == DESC
            )
        page = found[self.page_offset : self.page_offset + self.page_size]
        return page, len(found) if self.include_total_count else None


def _optional(body: dict[str, Any], name: str, default: int) -> int:
    value = get_int(body, name, required=False)
    return default if value is None else value


def _statuses(raw: object) -> frozenset[OrderStatus]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise BadField("statuses", f"must be an array of OrderStatus integers, got {raw!r}")
    known = {int(s) for s in OrderStatus}
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, int) or value not in known:
            raise BadField("statuses", f"{value!r} is not an OrderStatus (0..8)")
    return frozenset(OrderStatus(v) for v in raw)


def query_problem(error: BadField, instance: str) -> web.Response:
    """The RFC 7807 ProblemDetails ``Order/v2/query`` answers a bad request with (§5.12)."""
    body = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "Bad Request",
        "status": 400,
        "detail": str(error),
        "instance": instance,
    }
    return web.json_response(body, status=400, content_type="application/problem+json")
