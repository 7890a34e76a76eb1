// Past trading days and ended locks, from GET /api/v1/history (read from the daemon's store):
// per day and account the realized P&L, fees, fills, and each lock with its reason and who
// ended it. Re-read on every (re)connect and each minute.
import { at, h, money, signClass, zoneLabel } from "./format.js";

const DAYS = 7;
const root = document.getElementById("history");

function ended(lock) {
  if (lock.active) return h("span", { class: "neg" }, "still active");
  const when = lock.ended_at ? at(lock.ended_at) : "";
  if (lock.ended_by) {
    const why = lock.clear_reason ? ` (${lock.clear_reason})` : "";
    return `cleared by ${lock.ended_by} at ${when}${why}`;
  }
  return `ended by its time at ${when}`;
}

function lockLine(lock) {
  return h("div", { class: "hist-lock", "data-lock": lock.id },
    h("span", { class: "rule" }, lock.rule), " ",
    h("span", { class: "when" }, `from ${at(lock.created_at)}`), " · ",
    h("span", { class: "ended" }, ended(lock)),
    h("div", { class: "reason" }, lock.reason));
}

function days(list) {
  if (!list.length) return h("div", { class: "none" }, "no trading recorded in the last days");
  const rows = [];
  for (const day of list) {
    for (const [i, a] of day.accounts.entries()) {
      rows.push(h("tr", { "data-day": day.trading_day },
        h("td", { class: "mono" }, i ? "" : day.trading_day + (day.today ? " (today)" : "")),
        h("td", {}, a.name),
        h("td", { class: `num ${signClass(a.realized)}` }, money(a.realized)),
        h("td", { class: "num" }, money(a.fees, { sign: false })),
        h("td", { class: "num" }, a.fills),
        h("td", { class: "locks-cell" }, a.locks.length ? a.locks.map(lockLine) : h("span", { class: "dim" }, "none"))));
    }
  }
  return h("table", { class: "history" },
    h("thead", {}, h("tr", {}, ["Trading day", "Account", "Realized (net)", "Fees", "Fills", "Locks"].map(
      (t, i) => h("th", { class: i >= 2 && i <= 4 ? "num" : "" }, t)))),
    h("tbody", {}, rows));
}

export async function loadHistory() {
  if (!root) return;
  try {
    const reply = await fetch(`/api/v1/history?days=${DAYS}`, { cache: "no-store" });
    if (!reply.ok) throw new Error(`HTTP ${reply.status}`);
    const data = await reply.json();
    root.replaceChildren(
      h("h2", {}, `History · last ${DAYS} days · times ${zoneLabel()}`),
      days(data.days || []),
      h("h3", {}, "Ended locks"),
      (data.ended_locks || []).length
        ? h("div", { class: "ended-locks" }, data.ended_locks.map((l) =>
          h("div", {}, h("span", { class: "dim" }, `${l.name} · `), lockLine(l))))
        : h("div", { class: "none" }, "none"));
  } catch (err) {
    // Keep what was shown; the next (re)connect or minute reads it again.
    console.warn("reading the history failed", err);
  }
}

setInterval(loadHistory, 60000);
