// One account card: status, P&L and room, locks, chart, rule gauges, positions, orders, log.
import { pnlChart } from "./chart.js";
import { clock, duration, h, money, num, secondsUntil, signClass } from "./format.js";

export function accountCard(a, log) {
  const card = h("section", { class: `card${a.locked ? " locked" : ""}`, "data-account": a.id });
  card.append(head(a), kpis(a));
  if (a.locks && a.locks.length) card.append(locks(a.locks));
  card.append(h("div", { class: "chart" }, pnlChart(a)));
  card.append(h("div", {}, h("h3", {}, "Rules"), rules(a.rules || [])));
  card.append(h("div", { class: "grid2" },
    h("div", {}, h("h3", {}, "Positions"), positions(a.positions || [])),
    h("div", {}, h("h3", {}, "Working orders"), orders(a.orders || []))));
  card.append(h("div", {}, h("h3", {}, "Enforcement log"), enforcementLog(log)));
  return card;
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
  const room = num(a.room_to_loss_lock), limit = num(a.loss_limit);
  let roomBox;
  if (room === null || limit === null) {
    roomBox = kpi("Room to lock", "—", "", "no daily loss limit", "room");
  } else {
    const share = limit > 0 ? Math.max(0, Math.min(1, room / limit)) : 0;
    const level = share <= 0.1 ? "bad" : share <= 0.25 ? "warn" : "ok";
    roomBox = kpi("Room to lock", money(a.room_to_loss_lock, { sign: false }), "",
      `of ${money(a.loss_limit, { sign: false })} limit`, `room room-${level}`);
    const colour = level === "ok" ? "var(--ok)" : level === "warn" ? "var(--warn)" : "var(--bad)";
    roomBox.append(h("div", { class: "roombar" }, h("div", { style: `width:${(share * 100).toFixed(1)}%;background:${colour}` })));
  }
  return h("div", { class: "kpis" },
    kpi("Net P&L today", money(p.net), signClass(p.net), `peak ${money(p.day_peak_net)}`),
    roomBox,
    kpi("Realized", money(p.day_realized), signClass(p.day_realized), `week ${money(p.week_realized)}`),
    kpi("Unrealized", p.unrealized === null ? "unknown" : money(p.unrealized), signClass(p.unrealized),
      p.unrealized === null ? "no mark yet" : null));
}

function locks(list) {
  return h("div", { class: "locks" }, list.map((l) => h("div", { class: `lock kind-${l.kind}`, "data-lock": l.id },
    h("span", { class: "kind" }, l.kind === "soft" ? "entries blocked" : l.kind === "external" ? "broker" : "locked"),
    h("span", { class: "rule" }, l.rule),
    h("span", { class: "reason" }, l.reason),
    h("span", { class: "countdown num", "data-ends-at": l.ends_at || "" },
      l.ends_at ? duration(secondsUntil(l.ends_at)) : "until cleared"))));
}

// Each rule's bar: `used` (share of the limit consumed) when the daemon provides it.
function used(r) {
  const u = num(r.used);
  if (u !== null) return Math.max(0, Math.min(1, u));
  return { ok: 0.15, warning: 0.8, breached: 1, off: 0 }[r.state] ?? 0;
}

function rules(list) {
  if (!list.length) return h("div", { class: "none" }, "no rules enabled");
  return h("div", { class: "rules" }, list.flatMap((r) => [
    h("span", { class: "rid mono" }, r.id),
    h("span", { class: `txt-${r.state}`, title: r.detail || "" }, r.key),
    h("div", { class: "gauge", title: r.detail || "" },
      h("div", { class: `st-${r.state}`, style: `width:${(used(r) * 100).toFixed(1)}%` })),
    h("span", { class: "val num", title: r.detail || "" },
      r.state === "off" ? "off" : `${r.value ?? "—"} / ${r.limit ?? "—"}`),
  ]));
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
      h("td", { class: "num" }, p.mark ?? "—"),
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
    h("span", { class: "at num" }, clock(e.at)),
    h("span", { class: e.outcome === "failed" ? "neg" : "" }, `${e.kind} · ${e.reason} · ${e.outcome}`))));
}

export function tickCountdowns(root, now = Date.now()) {
  for (const el of root.querySelectorAll("[data-ends-at]")) {
    const at = el.getAttribute("data-ends-at");
    if (!at) continue;
    const left = secondsUntil(at, now);
    el.textContent = left > 0 ? duration(left) : "ending…";
  }
}
