"""Per-endpoint ``errorCode`` enums of the gateway (API doc §3, §5; Swagger names).

The same integer means different things on different endpoints (2 = OrderRejected on place,
OrderNotFound on cancel, PositionNotFound on close), so every endpoint has its own enum and
``ENDPOINT_ERROR_CODES`` maps the REST path (without ``/api/``) to it.
"""

from __future__ import annotations

from enum import IntEnum


class LoginErrorCode(IntEnum):
    SUCCESS = 0
    USER_NOT_FOUND = 1
    PASSWORD_VERIFICATION_FAILED = 2
    INVALID_CREDENTIALS = 3
    APP_NOT_FOUND = 4
    APP_VERIFICATION_FAILED = 5
    INVALID_DEVICE = 6
    AGREEMENTS_NOT_SIGNED = 7
    UNKNOWN_ERROR = 8
    API_SUBSCRIPTION_NOT_FOUND = 9
    API_KEY_AUTHENTICATION_DISABLED = 10


class ValidateErrorCode(IntEnum):
    SUCCESS = 0
    INVALID_SESSION = 1
    SESSION_NOT_FOUND = 2
    EXPIRED_TOKEN = 3
    UNKNOWN_ERROR = 4


class LogoutErrorCode(IntEnum):
    SUCCESS = 0
    INVALID_SESSION = 1
    UNKNOWN_ERROR = 2


class SearchAccountErrorCode(IntEnum):
    SUCCESS = 0


class SearchContractErrorCode(IntEnum):
    SUCCESS = 0


class SearchContractByIdErrorCode(IntEnum):
    SUCCESS = 0
    CONTRACT_NOT_FOUND = 1


class ListAvailableContractErrorCode(IntEnum):
    SUCCESS = 0


class RetrieveBarErrorCode(IntEnum):
    SUCCESS = 0
    CONTRACT_NOT_FOUND = 1
    UNIT_INVALID = 2
    UNIT_NUMBER_INVALID = 3
    LIMIT_INVALID = 4


class PlaceOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_REJECTED = 2
    INSUFFICIENT_FUNDS = 3
    ACCOUNT_VIOLATION = 4
    OUTSIDE_TRADING_HOURS = 5
    ORDER_PENDING = 6
    UNKNOWN_ERROR = 7
    CONTRACT_NOT_FOUND = 8
    CONTRACT_NOT_ACTIVE = 9
    ACCOUNT_REJECTED = 10


class ModifyOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_NOT_FOUND = 2
    REJECTED = 3
    PENDING = 4
    UNKNOWN_ERROR = 5
    ACCOUNT_REJECTED = 6
    CONTRACT_NOT_FOUND = 7


class CancelOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_NOT_FOUND = 2
    REJECTED = 3
    PENDING = 4
    UNKNOWN_ERROR = 5
    ACCOUNT_REJECTED = 6


class SearchOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1


class SearchOrderByIdErrorCode(IntEnum):
    SUCCESS = 0
    ORDER_NOT_FOUND = 1


class SearchPositionErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1


class ClosePositionErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    POSITION_NOT_FOUND = 2
    CONTRACT_NOT_FOUND = 3
    CONTRACT_NOT_ACTIVE = 4
    ORDER_REJECTED = 5
    ORDER_PENDING = 6
    UNKNOWN_ERROR = 7
    ACCOUNT_REJECTED = 8


class PartialClosePositionErrorCode(IntEnum):
    """Codes shift by one against closeContract (5 is InvalidCloseSize here)."""

    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    POSITION_NOT_FOUND = 2
    CONTRACT_NOT_FOUND = 3
    CONTRACT_NOT_ACTIVE = 4
    INVALID_CLOSE_SIZE = 5
    ORDER_REJECTED = 6
    ORDER_PENDING = 7
    UNKNOWN_ERROR = 8
    ACCOUNT_REJECTED = 9


class SearchTradeErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1


ENDPOINT_ERROR_CODES: dict[str, type[IntEnum]] = {
    "Auth/loginKey": LoginErrorCode,
    "Auth/loginApp": LoginErrorCode,
    "Auth/validate": ValidateErrorCode,
    "Auth/logout": LogoutErrorCode,
    "Account/search": SearchAccountErrorCode,
    "Contract/search": SearchContractErrorCode,
    "Contract/searchById": SearchContractByIdErrorCode,
    "Contract/available": ListAvailableContractErrorCode,
    "History/retrieveBars": RetrieveBarErrorCode,
    "Order/place": PlaceOrderErrorCode,
    "Order/modify": ModifyOrderErrorCode,
    "Order/cancel": CancelOrderErrorCode,
    "Order/search": SearchOrderErrorCode,
    "Order/searchOpen": SearchOrderErrorCode,
    "Order/searchById": SearchOrderByIdErrorCode,
    "Position/searchOpen": SearchPositionErrorCode,
    "Position/closeContract": ClosePositionErrorCode,
    "Position/partialCloseContract": PartialClosePositionErrorCode,
    "Trade/search": SearchTradeErrorCode,
}
"""REST path after ``/api/`` → that endpoint's errorCode enum."""


def error_code_name(endpoint: str, code: int) -> str:
    """The Swagger-style name of ``code`` on ``endpoint``, or ``Unknown(<code>)``."""
    enum = ENDPOINT_ERROR_CODES.get(endpoint)
    if enum is None:
        return f"Unknown({code})"
    try:
        return enum(code).name
    except ValueError:
        return f"Unknown({code})"
