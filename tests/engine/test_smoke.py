from engine.helpers import NQ, Sim, kinds, rules


def test_daily_realized_loss_locks_until_next_reset() -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 500}))
    sim.position(NQ, 1)
    out = sim.trade(pnl="-512.40")
    assert kinds(out) == [("lock", "daily_realized_loss"), ("flatten", "daily_realized_loss")]
    assert "−512.40 ≤ −500.00 (limit)" in out[0].reason
    assert "2026-03-10 17:00 CT" in out[0].reason
