// One account card: status, P&L and room, locks, chart, rule gauges, positions, orders, log.
import { pnlChart } from "./chart.js";
import { at, clock, countdown, h, money, num, signClass, zoneLabel } from "./format.js";

export function accountCard(a, log, health) {
  const card = h("section", { class: `card${a.locked ? " locked" : ""}`, "data-account": a.id });
  // Two columns when the card is wide (see style.css): the money on the left, the rules and
  // what was enforced on the right.
  const main = h("div", { class: "col col-main" }, kpis(a));
  if (a.locks && a.locks.length) main.append(locks(a.locks));
  if (a.pending_loosenings && a.pending_loosenings.length) main.append(pending(a.pending_loosenings));
  main.append(h("div", { class: "chart" }, pnlChart(a)),
    h("div", {}, h("h3", {}, "Positions"), positions(a.positions || [])),
    h("div", {}, h("h3", {}, "Working orders"), orders(a.orders || [])));
  const side = h("div", { class: "col col-side" },
    h("div", {}, h("h3", {}, "Rules"), rules(a.rules || [], a.locks || [])),
    h("div", {}, h("h3", {}, `Enforcement log (${zoneLabel()})`), enforcementLog(log)));
  card.append(head(a));
  const warn = banners(a, health);
  if (warn) card.append(warn);
  card.append(h("div", { class: "card-body" }, main, side));
  return card;
}

// What is wrong until it is resolved: a refused or escalated enforcement action, a position
// valued without a live quote (from the daemon's view), and a hub outage (from its health).
function banners(a, health) {
  const list = (a.problems || []).map((p) => [p.kind, p.text]);
  if (health && (!health.hubs?.user?.connected || !health.hubs?.market?.connected)) {
    const down = ["user", "market"].filter((k) => !health.hubs?.[k]?.connected).join(" and ");
    list.push(["hub", `${down} hub down: ${health.problem || "events may be missing"}`]);
  }
  if (!list.length) return null;
  const TITLE = { refused: "REFUSED", escalated: "FAILED", stale_mark: "STALE MARK", hub: "HUB DOWN" };
  return h("div", { class: "banners" }, list.map(([kind, text]) =>
    h("div", { class: `banner banner-${kind}`, "data-problem": kind },
      h("span", { class: "what" }, TITLE[kind] ?? kind), h("span", {}, text))));
}

function head(a) {
  const status = a.locked
    ? h("span", { class: "badge badge-locked" }, "LOCKED")
    : h("span", { class: "badge badge-trading" }, "TRADING");
  return h("div", { class: "card-head" },
    status,
    h("span", { class: "name" }, a.name),
    h("span", { class: "id mono" }, `#${a.id}`),
    a.can_trade === false ? h("span", { class: "badge badge-external" }, "BROKER: NO TRADING") : null,
    h("span", { class: "balance" }, "balance ", h("span", { class: "num" }, money(a.balance, { sign: false }))));
}

function kpi(label, value, cls = "", sub = null, extraClass = "") {
  return h("div", { class: `kpi ${extraClass}` },
    h("div", { class: "label" }, label),
    h("div", { class: `value num ${cls}` }, value),
    sub ? h("div", { class: "sub" }, sub) : null);
}

function kpis(a) {
  const p = a.pnl || {};
  return h("div", { class: "kpis" },
    kpi("Net P&L today", money(p.net), signClass(p.net), `peak ${money(p.day_peak_net)}`),
    roomBox(a),
    kpi("Realized", money(p.day_realized), signClass(p.day_realized), `week ${money(p.week_realized)}`),
    kpi("Unrealized", p.unrealized === null ? "unknown" : money(p.unrealized), signClass(p.unrealized),
      p.unrealized === null ? "no mark yet" : null),
    drawdownBox(a.trailing_drawdown));
}

// The room before the nearest loss lock, against that rule's own limit (the trailing
// drawdown's floor distance when only it is on). Unknown, with the reason, when a loss rule
// on cannot be evaluated: never 0 and never "no limit" then.
function roomBox(a) {
  if (a.room_unknown) {
    return kpi("Room to lock", "unknown", "words", a.room_unknown, "room room-unknown");
  }
  const room = num(a.room_to_loss_lock);
  const limitText = a.room_limit ?? a.loss_limit;
  const limit = num(limitText);
  if (room === null || limit === null) return kpi("Room to lock", "—", "", "no loss limit on", "room");
  const share = limit > 0 ? Math.max(0, Math.min(1, room / limit)) : 0;
  const level = share <= 0.1 ? "bad" : share <= 0.25 ? "warn" : "ok";
  // The daemon clamps the room at 0: past the limit there is none left, and the lock says why.
  const text = room > 0 ? money(a.room_to_loss_lock, { sign: false }) : a.locked ? "none — locked" : "none";
  const of = a.room_rule ? `${a.room_rule} ` : "";
  const box = kpi("Room to lock", text, room > 0 ? "" : "words",
    `of ${of}${money(limitText, { sign: false })}`, `room room-${level}`);
  const colour = level === "ok" ? "var(--ok)" : level === "warn" ? "var(--warn)" : "var(--bad)";
  box.append(h("div", { class: "roombar" }, h("div", { style: `width:${(share * 100).toFixed(1)}%;background:${colour}` })));
  return box;
}

// RULE-016: this account's own starting balance, peak and floor (never another account's).
function drawdownBox(d) {
  if (!d) return null;
  const start = d.start_source === "config" ? "start" : "first balance";
  return kpi("Drawdown floor", d.floor === null ? "unknown" : money(d.floor, { sign: false }), "",
    `${start} ${money(d.starting_balance, { sign: false })} · peak ${money(d.peak, { sign: false })}`);
}

function locks(list) {
  return h("div", { class: "locks" }, list.map((l) => h("div", { class: `lock kind-${l.kind}`, "data-lock": l.id },
    h("span", { class: "kind" }, l.kind === "soft" ? "entries blocked" : l.kind === "external" ? "broker" : "locked"),
    h("span", { class: "rule" }, l.rule),
    h("span", { class: "reason" }, l.reason),
    h("span", { class: "countdown", "data-ends-at": l.ends_at || "" }, countdown(l.ends_at)),
    l.clearing_at ? h("span", { class: "clearing" }, `admin clearing at ${at(l.clearing_at)}`) : null)));
}

// Rule changes that loosen, waiting for admin.loosen_delay ("daily_net_loss limit 1000 → 2000
// at 14:35 CST").
function pending(list) {
  return h("div", { class: "pending" }, list.map((p) =>
    h("div", { class: "pending-loosening", "data-rule": p.rule }, "pending: ", p.text)));
}

// A rule's bar is the share of its limit used, as the daemon measured it. Rules without a
// number (a grace period, blocked symbols, a cooldown) get a state pill instead: an empty or
// made-up bar would read as "plenty of room".
// A rule that cannot be evaluated (a mark, a spec, a balance missing) is "unknown" in its own
// colour, its reason in place of the settings: never "ok".
const PILL = { ok: "ok", warning: "warning", breached: "breached", unknown: "unknown", off: "off" };

function rules(list, activeLocks) {
  if (!list.length) return h("div", { class: "none" }, "no rules enabled");
  const locked = new Set(activeLocks.map((l) => l.rule));
  const on = list.filter((r) => r.state !== "off"), off = list.filter((r) => r.state === "off");
  // The rules that are off take one line: each would otherwise be a row of nothing.
  const offLine = off.length
    ? h("div", { class: "rules-off" }, h("span", { class: "pill pill-off" }, "off"), " ",
      off.flatMap((r, i) => [i ? ", " : "", h("span", { class: "mono", "data-rule": r.key, title: r.id }, r.key)]))
    : null;
  return h("div", {}, on.length ? h("div", { class: "rules" }, on.map((r) => ruleRow(r, locked.has(r.key)))) : null, offLine);
}

function ruleRow(r, locked) {
  const u = r.state === "unknown" ? null : num(r.used);
  const share = u === null ? null : Math.max(0, Math.min(1, u));
  const numeric = r.value != null || r.limit != null; // != null: neither null nor undefined
  const meter = share === null
    ? h("span", { class: `pill pill-${r.state}` }, locked ? "locked" : PILL[r.state] ?? r.state)
    : h("div", { class: "gauge", title: `${(share * 100).toFixed(0)}% of the limit used` },
      h("div", { class: `st-${r.state}`, style: `width:${(share * 100).toFixed(1)}%` }));
  return h("div", { class: "rule-row", "data-rule": r.key },
    h("span", { class: "rid mono" }, r.id),
    h("span", { class: `rname txt-${r.state}` }, r.key),
    meter,
    h("span", { class: "val num" }, numeric ? `${r.value ?? "—"} / ${r.limit ?? "—"}` : ""),
    r.state === "unknown" && r.reason
      ? h("span", { class: "detail txt-unknown", title: r.reason }, `cannot be evaluated: ${r.reason}`)
      : r.detail ? h("span", { class: "detail", title: r.detail }, r.detail) : null);
}

function table(headers, rows) {
  return h("table", {},
    h("thead", {}, h("tr", {}, headers.map(([t, n]) => h("th", { class: n ? "num" : "" }, t)))),
    h("tbody", {}, rows));
}

function positions(list) {
  if (!list.length) return h("div", { class: "none" }, "flat");
  return table([["Symbol"], ["Side"], ["Size", 1], ["Avg", 1], ["Mark", 1], ["Unrealized", 1]],
    list.map((p) => h("tr", {},
      h("td", {}, p.symbol), h("td", { class: p.side === "long" ? "pos" : "neg" }, p.side),
      h("td", { class: "num" }, p.size), h("td", { class: "num" }, p.average_price),
      h("td", { class: "num" }, p.mark === null ? "—"
        : p.mark_source === "rest_bar" ? `${p.mark} (REST bar)` : p.mark),
      h("td", { class: `num ${signClass(p.unrealized)}` }, p.unrealized === null ? "unknown" : money(p.unrealized)))));
}

function orders(list) {
  if (!list.length) return h("div", { class: "none" }, "none");
  return table([["Symbol"], ["Side"], ["Type"], ["Size", 1], ["Price", 1], ["By"]],
    list.map((o) => h("tr", {},
      h("td", {}, o.symbol), h("td", {}, o.side), h("td", {}, o.type),
      h("td", { class: "num" }, o.size), h("td", { class: "num" }, o.price ?? "mkt"),
      h("td", { class: "dim" }, o.ours ? "risk-manager" : "trader"))));
}

function enforcementLog(entries) {
  if (!entries.length) return h("div", { class: "none" }, "nothing enforced");
  return h("div", { class: "log" }, entries.map((e) => h("div", {},
    h("span", { class: "at num", title: e.at }, clock(e.at)),
    h("span", { class: e.outcome === "failed" ? "neg" : "" }, `${e.kind} · ${e.reason} · ${e.outcome}`))));
}

export function tickCountdowns(root, now = Date.now()) {
  for (const el of root.querySelectorAll("[data-ends-at]")) {
    const endsAt = el.getAttribute("data-ends-at");
    if (endsAt) el.textContent = countdown(endsAt, now);
  }
}
