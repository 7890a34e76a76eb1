"""One small exception hierarchy, grouped by the reaction each failure needs (DESIGN.md style 3).

Refusals and enforcements are values; these are for failures. The whole tree (the leaves live
beside the code that raises them)::

    RiskManagerError                    raised on purpose; anything else is a bug
    ├── RefuseToStart                   the machine's own problem: one line, exit 2
    │   ├── ConfigError                 config/errors.py: every bad key with what to do
    │   ├── StoreUnusable               store/errors.py: unreadable, corrupt, newer schema
    │   └── StoreInUse                  store/holder.py: another daemon holds the store
    ├── RetryLater                      the broker is busy or away: back off, try again
    │   ├── RateLimited                 projectx/error_map.py: HTTP 429 (Retry-After kept)
    │   └── CircuitOpen                 projectx/circuit.py: failing fast for a moment
    ├── BrokerRefused                   success: false with a code: a business refusal
    ├── AuthenticationFailed            login or token validation refused: fix credentials
    ├── UnknownAccount, UnknownLock     the admin named what is not there (also LookupError)
    └── StoreError                      store/errors.py: a read or write that failed
        ├── LockNotFound, JournalEntryNotFound   (also LookupError)
        └── JournalEntryFinished        an outcome written twice

Bad wire values are ``WireError`` (projectx/wire_values.py, a ``ValueError``): a record is
skipped and counted, never an exception that reaches the caller.
"""

from __future__ import annotations


class RiskManagerError(Exception):
    """Base of every error the project raises on purpose."""


class RefuseToStart(RiskManagerError):
    """Bad configuration or environment: the daemon must not start."""


class RetryLater(RiskManagerError):
    """The broker is busy or unreachable (429, 5xx, timeouts): retry with backoff."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BrokerRefused(RiskManagerError):
    """The broker answered ``success: false`` for a business reason; carries its code."""

    def __init__(self, endpoint: str, code: int, name: str, message: str | None) -> None:
        detail = f": {message}" if message else ""
        super().__init__(f"{endpoint} refused with errorCode {code} ({name}){detail}")
        self.endpoint = endpoint
        self.code = code
        self.name = name
        self.broker_message = message


class AuthenticationFailed(RiskManagerError):
    """Login or token validation failed; the operator must fix credentials."""


class UnknownAccount(RiskManagerError, LookupError):
    """The admin named an account the daemon does not guard."""

    def __init__(self, account_id: int) -> None:
        super().__init__(f"account {account_id} is not guarded by this daemon")
        self.account_id = account_id


class UnknownLock(RiskManagerError, LookupError):
    """The admin named a lock that is not an active lock of the account."""

    def __init__(self, account_id: int, lock_id: int) -> None:
        super().__init__(f"lock {lock_id} is not an active lock of account {account_id}")
        self.account_id = account_id
        self.lock_id = lock_id
