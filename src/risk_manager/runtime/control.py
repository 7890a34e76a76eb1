"""The daemon's admin control (issue 13; docs/RUNTIME.md "Control" and "Reload"): reload the
config file, clear locks, reset an account's day, each under the admin's delays
(docs/RULES.md §2 "Clearings and loosenings").

``DaemonControl`` keeps what each account is guarded under now (``in force``): the config
file's rules, less the loosenings still waiting for ``admin.loosen_delay``. A tightening
applies at once and cancels a pending loosening of the same rule; a loosening waits, stored
with its due time (``pending_loosenings``) so a restart neither applies it early nor forgets
it; the settings in force are stored too, so a file edited while the daemon was down is
measured against them at the next start, not taken as is. A clearing or a manual reset takes
effect after ``admin.unlock_delay``: the lock row carries the instant, the engine holds and
enforces the lock until then and wakes at it.

Every change to an engine happens between two of its events: the engine is synchronous, and
the swap of every account's rules is made without an ``await`` in between, so no event is
evaluated half under the old rules. The caller (the admin API, the CLI) writes the audit row
from each result; nothing here audits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import watchfiles
from pydantic import ValidationError

from risk_manager.api.read_model import iso
from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import load_config
from risk_manager.config.models import Config
from risk_manager.config.rules import RULE_KEYS, RulesConfig
from risk_manager.config.sections import AdminConfig
from risk_manager.config.tightening import Change, compare_rule, compare_settings, fields_of
from risk_manager.domain.errors import RiskManagerError, UnknownAccount, UnknownLock
from risk_manager.domain.locks import Lock, same_lock
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.control_port import ClearResult, ReloadResult, ResetResult
from risk_manager.store.errors import LockNotFound
from risk_manager.store.ports import StorePort
from risk_manager.store.records import PendingLoosening
from risk_manager.types import Clock

_log = logging.getLogger(__name__)

ADMIN_SCOPE = 0  # the account id the daemon-wide `admin:` section is stored under
ENGINE_GROUP = "engine"  # the engine-wide settings of `rules:` (mark, stale_mark, retries)
ADMIN_GROUP = "admin"
GUARDED_GROUP = "guarded"  # an account the file no longer guards: a loosening like any other
ENGINE_FIELDS = [name for name in RulesConfig.model_fields if name not in RULE_KEYS]
# Sections built into the running daemon's parts: a change needs a restart.
RESTART_SECTIONS = (
    "broker",
    "store",
    "api",
    "trading_day",
    "contracts",
    "reconcile",
    "alerts",
    "logging",
)
WAKE_AT_LEAST = 1.0  # seconds: a wall clock that jumps (a test's, an NTP step) is seen this soon
DEBOUNCE_MS = 300  # an editor's save is a burst of writes and renames: one reload after it

Outcome = Literal["applied", "pending", "cancelled"]
GuardAdded = Callable[[Config], Awaitable[list[int]]]
"""The daemon's: guard live every account ``config`` guards that it does not; their ids."""


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One settings group's change in a plan: applied now, pending until ``due_at``, or a
    pending loosening cancelled (by a tightening, or the file back at the value in force)."""

    account_id: int
    group: str
    outcome: Outcome
    before: dict[str, Any]
    after: dict[str, Any]
    due_at: datetime | None = None


class DaemonControl:
    """The admin's control of one daemon (``runtime/control_port.py`` ``AdminControl``).

    ``config``: the config the daemon was started with; ``path``: its file (None: built from
    text, e.g. in tests: ``reload`` is refused); ``actors``: the daemon's own mapping (filled
    as it starts). The daemon calls :meth:`restore` and :meth:`start_account` as it starts,
    then runs :meth:`run` (due loosenings) and :meth:`watch` (the file) as tasks."""

    def __init__(
        self,
        config: Config,
        path: Path | None,
        store: StorePort,
        actors: Mapping[int, AccountActor],
        clock: Clock,
    ) -> None:
        self._started = config  # the parts that cannot change live were built from it
        self._file = config  # the file as last read and accepted: what the admin wants
        self._path = path
        self._store = store
        self._actors = actors
        self._clock = clock
        self._tz = ZoneInfo(config.trading_day.timezone)
        self._admin = config.admin  # in force
        self._stored: dict[int, RulesConfig] = {}
        self._in_force: dict[int, RulesConfig] = {}
        self._pending: dict[tuple[int, str], PendingLoosening] = {}
        self._serial = asyncio.Lock()  # one admin change at a time
        self._wake = asyncio.Event()  # the pending set changed: the timer looks again
        self.refused: list[str] = []  # the last reload's reasons while refused (health shows)
        self._guard_added: GuardAdded | None = None

    # -- what the dashboards read -------------------------------------------------------------

    @property
    def admin(self) -> AdminConfig:
        """The ``admin:`` delays in force."""
        return self._admin

    def rules_in_force(self, account_id: int) -> RulesConfig:
        """The rules the account is guarded under now."""
        return self._in_force.get(account_id, self._file.rules_for(account_id))

    def pending(self, account_id: int | None = None) -> list[PendingLoosening]:
        """Loosenings waiting (of one account, the ``admin:`` ones under account 0)."""
        found = [p for p in self._pending.values() if account_id in (None, p.account_id)]
        return sorted(found, key=lambda p: (p.due_at, p.account_id, p.rule))

    def problem(self) -> str | None:
        """A refused reload in words for ``/health``'s ``problem`` (None: none)."""
        if not self.refused:
            return None
        return "config reload refused, the previous config stays in force: " + "; ".join(
            self.refused
        )

    def describe(self, pending: PendingLoosening) -> str:
        """``daily_net_loss limit 1000 → 2000 at 14:35 CT`` (the dashboards' line)."""
        if pending.rule == GUARDED_GROUP:
            return f"off the config file: guarded until {self._hhmm(pending.due_at)} at least"
        return (
            f"{pending.rule} {_diff(pending.before, pending.after)} at {self._hhmm(pending.due_at)}"
        )

    # -- start ----------------------------------------------------------------------------------

    def restore(self, now: datetime, guard_added: GuardAdded | None = None) -> None:
        """Before the accounts: the settings in force and the pending loosenings from the
        store, and the ``admin:`` section planned against the file (a lowered delay waits).
        ``guard_added``: the daemon's, to guard live the accounts a reload adds."""
        self._guard_added = guard_added
        stored = self._store.settings_in_force()
        self._pending = {
            (p.account_id, p.rule): p
            for p in self._store.pending_loosenings()
            if _known_group(p.account_id, p.rule)  # one no plan looks at would never end
        }
        for account_id, settings in stored.items():
            try:
                if account_id == ADMIN_SCOPE:
                    self._admin = AdminConfig.model_validate(settings[ADMIN_GROUP])
                else:
                    self._stored[account_id] = RulesConfig.model_validate(settings["rules"])
            except (KeyError, ValidationError) as exc:
                # A guard that cannot read what was in force starts on the file: said loudly.
                _log.error(
                    "settings in force of account %s are unreadable (%s); the config "
                    "file's are used",
                    account_id,
                    type(exc).__name__,
                )
        steps = self._plan_admin(self._file.admin, now)
        for account_id in self._stored:
            if not self._file.guards(account_id):
                self._plan_guarded(account_id, now, steps)
        for step in steps:
            self._log_step(step)

    def holds(self, account_id: int) -> bool:
        """Whether an account the config file no longer guards is still guarded: it was
        guarded (its settings in force are stored) and its unguarding waits for
        ``admin.loosen_delay`` (planned by :meth:`restore`)."""
        return (account_id, GUARDED_GROUP) in self._pending

    def start_account(self, actor: AccountActor, now: datetime) -> None:
        """Before the account's first event: its rules in force (the stored ones, with the
        file's changes planned against them: tightenings now, loosenings pending)."""
        account_id = actor.account_id
        wanted = self._file.rules_for(account_id)
        current = self._stored.get(account_id, wanted)
        in_force, steps = self._plan_rules(account_id, current, wanted, now)
        self._in_force[account_id] = in_force
        actor.engine.set_rules(account_id, in_force, now)
        for step in steps:
            self._log_step(step)

    def save(self, now: datetime) -> None:
        """Store the settings in force and the pending loosenings (blocking: a thread). A
        loosening of an account no longer guarded is dropped: should the account be guarded
        again, its stored settings are planned against the file then, and wait afresh. An
        account off the file whose unguarding is due is stored no more."""
        self._pending = {
            key: p
            for key, p in self._pending.items()
            if p.account_id == ADMIN_SCOPE or p.account_id in self._in_force
        }
        # An account off the file whose unguarding is due is guarded until the next start
        # only: its settings are forgotten, or that start would hold it for another delay.
        released = {a for a in self._in_force if not self._file.guards(a) and not self.holds(a)}
        in_force: dict[int, dict[str, Any]] = {
            account_id: {"rules": rules.model_dump(mode="json")}
            for account_id, rules in self._in_force.items()
            if account_id not in released
        }
        in_force[ADMIN_SCOPE] = {ADMIN_GROUP: self._admin.model_dump(mode="json")}
        self._store.save_settings(in_force, self._pending.values(), now, forget=released)

    # -- AdminControl ---------------------------------------------------------------------------

    async def reload(self, *, who: str, reason: str) -> ReloadResult:
        """Re-read the config file the daemon was started with and apply it: refused (the old
        config stays in force, the reasons kept for ``/health`` and the dashboards) when it
        does not validate, or changes what needs a restart; otherwise tightenings apply at
        once and loosenings after ``admin.loosen_delay``, every account's rules swapped
        between two events. ``who``/``reason`` go to the log (the caller audits)."""
        async with self._serial:
            now = self._clock()
            reasons: list[str] = []
            new: Config | None = None
            if self._path is None:
                reasons.append("the daemon was started without a config file to re-read")
            else:
                try:
                    new = await asyncio.to_thread(load_config, self._path)
                except ConfigError as exc:
                    reasons.extend(exc.problems)
            if new is not None:
                reasons.extend(new.shared_size_problems())
                reasons.extend(self._restart_needed(new))
            if reasons or new is None:
                self.refused = reasons
                _log.warning(
                    "config reload by %s (%s) refused: %s", who, reason, "; ".join(reasons)
                )
                return ReloadResult(
                    ok=False,
                    reasons=reasons,
                    effective_at=now,
                    summary="refused: " + "; ".join(reasons),
                )
            self.refused = []
            self._file = new
            steps = self._apply(now)
            added = await self._guard_new(new)
            await self._persist(now)
        for step in steps:
            self._log_step(step)
        return self._reload_result(steps, now, who, added)

    async def clear_lock(
        self, account_id: int, lock_id: int | None, *, who: str, reason: str
    ) -> ClearResult:
        """Clear one lock (its store id, as the views show it), or (None) every active lock of
        the account, effective after ``admin.unlock_delay``: until then the lock holds and is
        enforced, across a restart too (the lock row carries the instant). Raises
        ``UnknownAccount``, ``UnknownLock`` (not an active lock of the account)."""
        async with self._serial:
            actor = self._actor(account_id)
            now = self._clock()
            at = now + self._admin.unlock_delay
            if lock_id is None:
                targets = await asyncio.to_thread(self._store.active_locks, now, account_id)
            else:
                targets = [await self._active_lock(account_id, lock_id, now)]
            before = {"locks": [_lock_json(lock, now) for lock in targets]}
            cleared = [
                await asyncio.to_thread(self._store.set_clearing, lock.id, at, who, reason)
                for lock in targets
                if lock.id is not None
            ]
            if lock_id is None:  # every lock: those the store has not written yet too
                actor.engine.clear_lock(account_id, None, now, who, reason, at=at)
            else:
                target = targets[0]
                actor.engine.clear_lock(
                    account_id, None, now, who, reason, at=at, only=lambda k: same_lock(k, target)
                )
            actor.admin_changed(now)  # wakes it: the views show the clearing
        what = "every lock" if lock_id is None else f"lock {lock_id}"
        return ClearResult(
            before=before,
            after={"locks": [_lock_json(lock, now) for lock in cleared]},
            effective_at=at,
            summary=f"{what} of account {account_id} cleared by {who}, {self._when(at, now)}",
        )

    async def reset_account(self, account_id: int, *, who: str, reason: str) -> ResetResult:
        """A manual daily reset of one account, effective after ``admin.unlock_delay``: what
        the trading day's reset does for it (its locks ending by the next reset are cleared,
        the day's counters start again; fills before it never count in the day again, a
        restart included). Other accounts are untouched. Raises ``UnknownAccount``."""
        async with self._serial:
            actor = self._actor(account_id)
            now = self._clock()
            at = now + self._admin.unlock_delay
            engine = actor.engine
            view = engine.view(account_id, now)
            before = {
                "day_realized": str(view.day_realized),
                "fills_today": view.fills_today,
                "locks": [_lock_json(lock, now) for lock in view.locks],
            }
            ending = engine.reset_day(account_id, now, at, who, reason)
            stored = await asyncio.to_thread(self._store.active_locks, now, account_id)
            for lock in stored:
                if lock.id is not None and any(same_lock(lock, k) for k in ending):
                    await asyncio.to_thread(self._store.set_clearing, lock.id, at, who, reason)
            actor.admin_changed(now)
        return ResetResult(
            before=before,
            after={
                "day_reset_at": iso(at),
                "locks_cleared": [_lock_json(lock, now) for lock in ending],
            },
            effective_at=at,
            summary=f"manual daily reset of account {account_id} by {who}, "
            f"{self._when(at, now)}; {len(ending)} lock(s) end with it",
        )

    # -- tasks ------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Apply each pending loosening at its due time (woken when the set changes; the clock
        is read again at least every ``WAKE_AT_LEAST`` s)."""
        while True:
            due = min(
                (
                    p.due_at
                    for p in self._pending.values()
                    if p.account_id == ADMIN_SCOPE or p.account_id in self._actors
                ),
                default=None,
            )
            now = self._clock()
            if due is not None and due <= now:
                await self.apply_due()
                continue
            wait = WAKE_AT_LEAST if due is None else (due - now).total_seconds()
            try:
                async with asyncio.timeout(max(0.0, min(wait, WAKE_AT_LEAST))):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    async def apply_due(self) -> None:
        """Apply the loosenings due by now (the file's settings, planned again)."""
        async with self._serial:
            now = self._clock()
            steps = self._apply(now)
            await self._persist(now)
        for step in steps:
            self._log_step(step)

    async def watch(self) -> None:
        """Reload whenever the config file changes (a burst of writes is one change)."""
        if self._path is None:
            return
        path = self._path.absolute()

        def ours(_: watchfiles.Change, changed: str) -> bool:
            return Path(changed).name == path.name  # editors write a temporary, then rename

        polling = False
        while True:
            try:
                async for _ in watchfiles.awatch(
                    path.parent,
                    watch_filter=ours,
                    debounce=DEBOUNCE_MS,
                    recursive=False,
                    force_polling=polling,
                    poll_delay_ms=1000,
                ):
                    try:
                        await self.reload(who="file", reason="config file changed")
                    except Exception:  # a bug: said with its traceback, the watch goes on
                        _log.exception("config reload after a file change failed")
                return
            except OSError as exc:  # no notifications (a watch limit, a network folder)
                if polling:
                    raise
                polling = True
                _log.warning(
                    "cannot be told of changes to %s (%s); looking at it every second", path, exc
                )

    # -- planning ---------------------------------------------------------------------------------

    def _apply(self, now: datetime) -> list[PlanStep]:
        """Plan the file's settings against those in force and swap every account's rules;
        synchronous on purpose: no event runs between two accounts' swaps."""
        steps = self._plan_admin(self._file.admin, now)
        for account_id, actor in self._actors.items():
            self._plan_guarded(account_id, now, steps)
            current = self._in_force.get(account_id, self._file.rules_for(account_id))
            in_force, more = self._plan_rules(
                account_id, current, self._file.rules_for(account_id), now
            )
            steps.extend(more)
            if in_force != current:
                self._in_force[account_id] = in_force
                actor.engine.set_rules(account_id, in_force, now)
                actor.admin_changed(now)  # its timers, and the dashboards show the new limits
        self._wake.set()
        return steps

    def _plan_admin(self, wanted: AdminConfig, now: datetime) -> list[PlanStep]:
        current = self._admin
        steps: list[PlanStep] = []
        change = compare_settings(fields_of(current), fields_of(wanted), AdminConfig.tighter)
        before, after = current.model_dump(mode="json"), wanted.model_dump(mode="json")
        if self._decide(steps, ADMIN_SCOPE, ADMIN_GROUP, change, before, after, now):
            self._admin = wanted
        return steps

    def _plan_guarded(self, account_id: int, now: datetime, steps: list[PlanStep]) -> None:
        """An account guarded now that the file no longer guards: its unguarding waits for
        ``admin.loosen_delay`` (the file guarding it again cancels it). Once due, the account
        is still guarded until the next start, which no longer takes it (a live drop is not
        supported; ``daemon.py`` keeps an account with an active lock guarded regardless)."""
        wanted = self._file.guards(account_id)
        change: Change = "same" if wanted else "looser"
        self._decide(
            steps, account_id, GUARDED_GROUP, change, {"guarded": True}, {"guarded": wanted}, now
        )

    def _plan_rules(
        self, account_id: int, current: RulesConfig, wanted: RulesConfig, now: datetime
    ) -> tuple[RulesConfig, list[PlanStep]]:
        steps: list[PlanStep] = []
        update: dict[str, Any] = {}
        for key in RULE_KEYS:
            old, new = current.rule(key), wanted.rule(key)
            change = compare_rule(old, new)
            before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
            if self._decide(steps, account_id, key, change, before, after, now):
                update[key] = new
        old_engine = fields_of(current, ENGINE_FIELDS)
        new_engine = fields_of(wanted, ENGINE_FIELDS)
        change = compare_settings(old_engine, new_engine, RulesConfig.tighter)
        before = current.model_dump(mode="json", include=set(ENGINE_FIELDS))
        after = wanted.model_dump(mode="json", include=set(ENGINE_FIELDS))
        if self._decide(steps, account_id, ENGINE_GROUP, change, before, after, now):
            update.update(new_engine)
        return (current.model_copy(update=update) if update else current), steps

    def _decide(
        self,
        steps: list[PlanStep],
        account_id: int,
        group: str,
        change: Change,
        before: dict[str, Any],
        after: dict[str, Any],
        now: datetime,
    ) -> bool:
        """Whether ``group`` takes the wanted settings now; records the step and keeps
        ``_pending`` (a tightening, or the file back at the value in force, cancels a
        pending loosening; the same loosening again keeps its due time)."""
        key = (account_id, group)
        waiting = self._pending.get(key)
        if change == "same":
            if waiting is not None:
                del self._pending[key]
                cancelled = PlanStep(account_id, group, "cancelled", waiting.before, waiting.after)
                steps.append(cancelled)
            return False
        if change == "tighter":
            self._pending.pop(key, None)
            steps.append(PlanStep(account_id, group, "applied", before, after))
            return True
        if waiting is None or waiting.after != after:
            due = now + self._admin.loosen_delay
            waiting = PendingLoosening(account_id, group, before, after, due, now)
        if waiting.due_at <= now:
            self._pending.pop(key, None)
            steps.append(PlanStep(account_id, group, "applied", before, after))
            return True
        if self._pending.get(key) != waiting:
            steps.append(PlanStep(account_id, group, "pending", before, after, waiting.due_at))
        self._pending[key] = waiting
        return False

    def _restart_needed(self, new: Config) -> list[str]:
        """What the running daemon cannot take live (the file keeps it for the next start)."""
        reasons = [
            f"{section}: changed; this needs a restart"
            for section in RESTART_SECTIONS
            if getattr(new, section) != getattr(self._started, section)
        ]
        # Accounts this file stops guarding (not those already off it, held by their delay).
        dropped = sorted(a for a in self._actors if not new.guards(a) and self._file.guards(a))
        if dropped:  # a loosening; not live today
            ids = ", ".join(map(str, dropped))
            reasons.append(f"accounts: no longer guarding {ids}; this needs a restart")
        return reasons

    # -- helpers ----------------------------------------------------------------------------------

    async def _guard_new(self, new: Config) -> list[int]:
        """Accounts the new file guards that the daemon does not yet: guarded now (a
        tightening). A broker that cannot list them now is said on ``/health`` (the file
        saved again retries)."""
        if self._guard_added is None:
            return []
        try:
            return await self._guard_added(new)
        except (RiskManagerError, OSError) as exc:
            self.refused = [
                f"accounts: the accounts added could not be guarded yet ({exc}); "
                "save the config file again to retry"
            ]
            _log.error("%s", self.refused[0])
            return []

    def _actor(self, account_id: int) -> AccountActor:
        actor = self._actors.get(account_id)
        if actor is None:
            raise UnknownAccount(account_id)
        return actor

    async def _active_lock(self, account_id: int, lock_id: int, now: datetime) -> Lock:
        try:
            lock = await asyncio.to_thread(self._store.get_lock, lock_id)
        except LockNotFound:
            raise UnknownLock(account_id, lock_id) from None
        if lock.account_id != account_id or not lock.is_active(now):
            raise UnknownLock(account_id, lock_id)
        return lock

    async def _persist(self, now: datetime) -> None:
        try:
            await asyncio.to_thread(self.save, now)
        except Exception as exc:  # kept in memory; the next change or start writes it again
            _log.error(
                "the settings in force could not be stored (%s: %s); a restart before the "
                "next change plans the file against the previous ones",
                type(exc).__name__,
                exc,
            )

    def _log_step(self, step: PlanStep) -> None:
        what = f"{step.group} of account {step.account_id}"
        if step.account_id == ADMIN_SCOPE:
            what = "admin delays"
        elif step.group == GUARDED_GROUP:
            what = f"account {step.account_id} (off the config file)"
        change = _diff(step.before, step.after)
        if step.outcome == "pending" and step.due_at is not None:
            _log.warning(
                "%s: %s loosens; takes effect at %s", what, change, self._hhmm(step.due_at)
            )
        elif step.outcome == "cancelled":
            _log.warning("%s: pending loosening (%s) cancelled", what, change)
        else:
            _log.warning("%s: %s in force now", what, change)

    def _reload_result(
        self, steps: list[PlanStep], now: datetime, who: str, added: list[int]
    ) -> ReloadResult:
        before: dict[str, Any] = {}
        after: dict[str, Any] = {"guarding_added": added} if added else {}
        lines = [f"now guarding account {a}" for a in added]
        for step in steps:
            key = f"{step.account_id}/{step.group}"
            before[key] = step.before
            after[key] = {**step.after, "outcome": step.outcome, "due_at": iso(step.due_at)}
            when = "now" if step.due_at is None else f"at {self._hhmm(step.due_at)}"
            lines.append(f"{key}: {_diff(step.before, step.after)} ({step.outcome}, {when})")
        dues = [s.due_at for s in steps if s.due_at is not None]
        summary = "; ".join(lines) if lines else "no change"
        return ReloadResult(
            ok=True,
            before=before,
            after=after,
            effective_at=max(dues, default=now),
            summary=f"{who}: {summary}",
        )

    def _hhmm(self, at: datetime) -> str:
        local = at.astimezone(self._tz)
        return f"{local:%H:%M} {local.tzname()}"

    def _when(self, at: datetime, now: datetime) -> str:
        if at <= now:
            return "effective now"
        minutes = max(1, round((at - now) / timedelta(minutes=1)))
        return f"effective at {self._hhmm(at)} (in {minutes} m)"


def _known_group(account_id: int, group: str) -> bool:
    if account_id == ADMIN_SCOPE:
        return group == ADMIN_GROUP
    return group in (ENGINE_GROUP, GUARDED_GROUP) or group in RULE_KEYS


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """``limit 1000 → 2000, enabled false → true``: the settings that differ."""
    parts = [
        f"{name} {_text(before.get(name))} → {_text(after.get(name))}"
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]
    return ", ".join(parts) or "unchanged"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)


def _lock_json(lock: Lock, now: datetime) -> dict[str, Any]:
    return {
        "id": lock.id,
        "account_id": lock.account_id,
        "rule": lock.rule,
        "kind": lock.kind.value,
        "reason": lock.reason,
        "ends_at": iso(lock.ends_at),
        "clearing_at": iso(lock.cleared_at),
        "cleared_by": lock.cleared_by,
        "active": lock.is_active(now),
    }
