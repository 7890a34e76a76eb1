from datetime import UTC, datetime
from decimal import Decimal

from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Position, Trade

T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def test_unknown_wire_integers_decode_to_the_zero_member() -> None:
    assert OrderStatus.decode(42) is OrderStatus.NONE
    assert OrderType.decode("x") is OrderType.UNKNOWN
    assert OrderStatus.decode(8) is OrderStatus.SUSPENDED


def test_working_and_terminal_statuses() -> None:
    working = {s for s in OrderStatus if s.is_working}
    assert working == {
        OrderStatus.OPEN,
        OrderStatus.PENDING,
        OrderStatus.PENDING_CANCELLATION,
        OrderStatus.SUSPENDED,
    }
    assert {s for s in OrderStatus if s.is_terminal} == {2, 3, 4, 5}


def test_stop_types() -> None:
    assert {t for t in OrderType if t.is_stop} == {
        OrderType.STOP_LIMIT,
        OrderType.STOP,
        OrderType.TRAILING_STOP,
    }


def test_signed_sizes() -> None:
    short = Position(1, 2, "CON.F.US.MNQ.Z26", PositionType.SHORT, 3, Decimal("21000.25"))
    assert short.signed_size == -3
    assert OrderSide.ASK.sign == -1 and OrderSide.BID.opposite is OrderSide.ASK


def test_trade_net_pnl_is_exact() -> None:
    t = Trade(
        2_555_492_505,
        1,
        "c",
        T0,
        Decimal("49983"),
        OrderSide.ASK,
        15,
        1,
        fees=Decimal("5.55"),
        commissions=Decimal("3.75"),
        profit_and_loss=Decimal("555.00"),
    )
    assert t.net_pnl() == Decimal("545.70")
    assert t.net_pnl(include_fees=False) == Decimal("555.00")
    opening = Trade(1, 1, "c", T0, Decimal(1), OrderSide.BID, 1, 1, fees=Decimal("0.37"))
    assert not opening.is_closing and opening.net_pnl() == Decimal("-0.37")


def test_lock_activity_follows_the_clock_and_clearing() -> None:
    lock = Lock(1, "daily_realized_loss", LockKind.HARD, "r", T0, T0.replace(hour=22))
    assert lock.is_active(T0)
    assert not lock.is_active(T0.replace(hour=22))
    forever = Lock(1, "trailing_drawdown", LockKind.HARD, "r", T0, None)
    assert forever.is_active(T0.replace(year=2030))
    cleared = Lock(1, "x", LockKind.HARD, "r", T0, None, cleared_at=T0, cleared_by="admin")
    assert not cleared.is_active(T0)
