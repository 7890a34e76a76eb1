"""Hypothesis stateful tests over random event sequences (issue 3 "must show")."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine.helpers import ACC, ES, NQ, Sim, rules
from risk_manager.domain.actions import ClosePosition, Flatten, LockAccount

MONEY = st.decimals(min_value=-500, max_value=500, places=2)
FEES = st.decimals(min_value=0, max_value=5, places=2)
VALUE_RULES = {
    "daily_unrealized_loss",
    "max_unrealized_profit",
    "daily_net_loss",
    "trailing_drawdown",
}


class LedgerMachine(RuleBasedStateMachine):
    """Fills arrive new, repeated, voided and interleaved with positions and quotes. NQ gets
    quotes; ES never does, so no rule may act on ES's (unknown) unrealized P&L."""

    def __init__(self) -> None:
        super().__init__()
        self.sim = Sim(
            rules(
                daily_unrealized_loss={"limit": 300},
                max_unrealized_profit={"target": 300},
                daily_net_loss={"limit": 100000},
                trailing_drawdown={"max_drawdown": 100000},
            )
        )
        self.fills: dict[int, tuple[Decimal | None, Decimal, bool]] = {}
        self.next_id = 1

    @rule(pnl=st.one_of(st.none(), MONEY), fees=FEES)
    def new_fill(self, pnl: Decimal | None, fees: Decimal) -> None:
        tid = self.next_id
        self.next_id += 1
        self.fills[tid] = (pnl, fees, False)
        self.sim.trade(pnl=None if pnl is None else str(pnl), fees=str(fees), trade_id=tid)

    @precondition(lambda self: bool(self.fills))
    @rule(data=st.data())
    def repeat_fill(self, data: st.DataObject) -> None:
        tid = data.draw(st.sampled_from(sorted(self.fills)))
        pnl, fees, voided = self.fills[tid]
        self.sim.trade(
            pnl=None if pnl is None else str(pnl), fees=str(fees), trade_id=tid, voided=voided
        )

    @precondition(lambda self: bool(self.fills))
    @rule(data=st.data())
    def void_fill(self, data: st.DataObject) -> None:
        tid = data.draw(st.sampled_from(sorted(self.fills)))
        pnl, fees, _ = self.fills[tid]
        self.fills[tid] = (pnl, fees, True)
        self.sim.trade(
            pnl=None if pnl is None else str(pnl), fees=str(fees), trade_id=tid, voided=True
        )

    @rule(cid=st.sampled_from([NQ, ES]), size=st.integers(-3, 3))
    def position(self, cid: str, size: int) -> None:
        self.sim.position(cid, size, "100")

    @rule(price=st.decimals(min_value=80, max_value=120, places=2))
    def quote_nq(self, price: Decimal) -> None:
        self.sim.quote(NQ, str(price))

    @rule(ms=st.integers(1, 5000))
    def time_passes(self, ms: int) -> None:
        self.sim.advance(milliseconds=ms)

    @invariant()
    def realized_is_the_sum_of_unique_fills(self) -> None:
        expected = sum(
            ((pnl or Decimal(0)) - fees for pnl, fees, voided in self.fills.values() if not voided),
            Decimal(0),
        )
        assert self.sim.engine.view(ACC, self.sim.now).day_realized == expected

    @invariant()
    def the_holdings_say_what_the_view_says(self) -> None:
        engine, now = self.sim.engine, self.sim.now
        view, held = engine.view(ACC, now), engine.holdings(ACC, now)
        signed = {p.position.contract_id: p.position.signed_size for p in view.positions}
        assert dict(held.positions) == signed
        assert (held.balance, held.can_trade, held.locked) == (
            view.balance,
            view.can_trade,
            view.locked,
        )

    @invariant()
    def no_rule_acts_on_a_value_it_does_not_have(self) -> None:
        for a in self.sim.actions:
            if a.rule not in VALUE_RULES:
                continue
            if isinstance(a, ClosePosition):
                assert a.contract_id == NQ, a
            if isinstance(a, Flatten | LockAccount):
                # only possible when every open position had a mark: ES never has one
                raise AssertionError(f"{a.rule} acted without marks: {a.reason}")
        self.sim.actions.clear()


LedgerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerMachine = LedgerMachine.TestCase


def test_fills_arriving_out_of_order_give_the_same_ledger() -> None:
    """Trade before its order's Filled status, position before trade: same realized P&L."""
    a = Sim(rules())
    b = Sim(rules())
    a.order(NQ, order_id=1, status=6)
    a.trade(pnl="-50", fees="1", trade_id=9)
    a.order(NQ, order_id=1, status=2)
    a.position(NQ, 0)
    b.position(NQ, 0)
    b.order(NQ, order_id=1, status=2)
    b.trade(pnl="-50", fees="1", trade_id=9)
    b.trade(pnl="-50", fees="1", trade_id=9)
    assert a.engine.view(ACC, a.now).day_realized == b.engine.view(ACC, b.now).day_realized
    assert a.engine.view(ACC, a.now).fills_today == b.engine.view(ACC, b.now).fills_today == 1
