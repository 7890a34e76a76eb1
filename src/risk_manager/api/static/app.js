// Live state from /api/v1/stream; reconnects by itself with capped exponential backoff. The
// daemon's own state is never stale: a closed stream, or a stream silent for longer than the
// server's heartbeat allows, says "daemon unreachable since …" at once (issue 15 item 4).
import { accountCard, tickCountdowns } from "./card.js";
import { clock, h, setZone, zone, zoneLabel } from "./format.js";
import { loadHistory } from "./history.js";
import { configure, noteLocks } from "./notify.js";

const state = { accounts: new Map(), log: [], health: null, downSince: null };
const MAX_LOG = 200;
const SILENCE_MS = 1500; // the server sends a heartbeat after 0.5 s of silence
const root = document.getElementById("accounts");
const conn = document.getElementById("conn");

function setConn(kind, text) {
  // While not live the cards show the last data received: dim them so nobody trusts them.
  document.body.classList.toggle("stale", kind !== "live");
  conn.className = `conn conn-${kind}`;
  conn.dataset.state = kind;
  conn.textContent = text;
  if (kind === "live") state.downSince = null;
  else if (kind === "down" && state.downSince === null) state.downSince = Date.now();
  renderHeader();
}

// The zone toggle: the trading day's zone (default) or the viewer's local time; remembered.
const tzButton = document.getElementById("tz");
zone.local = localStorage.getItem("rm-zone") === "local";
function renderZone() {
  tzButton.textContent = zone.local ? `times: local (${zoneLabel()})` : `times: ${zone.label}`;
  tzButton.title = zone.local ? `showing your local time; click for ${zone.name}` : `showing ${zone.name}; click for your local time`;
}
tzButton.addEventListener("click", () => {
  zone.local = !zone.local;
  localStorage.setItem("rm-zone", zone.local ? "local" : "trading");
  renderZone();
  root.replaceChildren();
  render();
  loadHistory();
});

function render(id) {
  const ids = id === undefined ? [...state.accounts.keys()] : [id];
  document.getElementById("empty")?.remove();
  for (const accountId of ids) {
    const a = state.accounts.get(accountId);
    const old = root.querySelector(`[data-account="${accountId}"]`);
    const log = state.log.filter((e) => e.account_id === accountId).slice(0, 20);
    const card = accountCard(a, log, state.health);
    if (old) old.replaceWith(card); else root.append(card);
  }
  if (!state.accounts.size && !root.children.length) root.append(h("p", { class: "empty", id: "empty" }, "No accounts monitored."));
  renderHeader();
}

function renderHeader() {
  const locked = [...state.accounts.values()].filter((a) => a.locked).length;
  document.getElementById("summary").textContent =
    `${state.accounts.size} account${state.accounts.size === 1 ? "" : "s"} · ${locked} locked`;
  const hl = state.health;
  const el = document.getElementById("health");
  if (state.downSince !== null) {
    // What the daemon last said is history now: never show it as its state.
    el.textContent = `daemon unreachable since ${clock(state.downSince)} ${zoneLabel(state.downSince)}`;
    el.dataset.state = "unreachable";
    el.classList.add("bad");
    return;
  }
  el.dataset.state = hl ? hl.status : "";
  el.textContent = hl
    ? `daemon ${hl.status} · gateway ${hl.signalr_connected ? "connected" : "DISCONNECTED"}` +
      (hl.problem ? ` · ${hl.problem}` : "")
    : "";
  el.classList.toggle("bad", !!hl && (hl.status !== "ok" || !hl.signalr_connected));
}

function takeZone(accounts) {
  const a = accounts.find((x) => x.time_zone);
  if (a) { setZone(a.time_zone, a.time_zone_label); renderZone(); }
}

function onMessage(msg) {
  switch (msg.type) {
    case "snapshot":
      state.accounts = new Map(msg.accounts.map((a) => [a.id, a]));
      state.log = msg.enforcements || [];
      state.health = msg.health || null;
      takeZone(msg.accounts);
      configure(msg.settings);
      noteLocks(msg.accounts);
      root.replaceChildren();
      render();
      watchPending();
      loadHistory();
      break;
    case "account": {
      // The P&L curve comes only when it changed: keep the one we have (docs/API.md "Stream").
      const prev = state.accounts.get(msg.account.id);
      if (!("pnl_curve" in msg.account)) msg.account.pnl_curve = prev ? prev.pnl_curve : [];
      state.accounts.set(msg.account.id, msg.account);
      noteLocks([msg.account]);
      render(msg.account.id);
      break;
    }
    case "heartbeat":
      break;
    case "enforcement":
      // By id: a re-sent entry (its outcome known now) replaces the one shown.
      state.log = [msg.entry, ...state.log.filter((e) => e.id !== msg.entry.id)].slice(0, MAX_LOG);
      if (state.accounts.has(msg.entry.account_id)) render(msg.entry.account_id);
      watchPending();
      break;
    case "health":
      state.health = msg.health;
      render(); // the cards' hub banner follows health
      break;
  }
}

// The stream sends a journal entry once, when the action is taken ("pending"); its outcome
// (confirmed, failed…) lands later. While a recent entry is pending, re-read the log.
const PENDING_POLL_MS = 1500, PENDING_MAX_AGE_MS = 10 * 60 * 1000;
let pendingTimer = null;

function watchPending() {
  const waiting = state.log.some((e) => e.outcome === "pending" && Date.now() - Date.parse(e.at) < PENDING_MAX_AGE_MS);
  if (waiting && pendingTimer === null) pendingTimer = setTimeout(rereadLog, PENDING_POLL_MS);
}

async function rereadLog() {
  try {
    const reply = await fetch(`/api/v1/enforcements?limit=${MAX_LOG}`, { cache: "no-store" });
    if (reply.ok) {
      const fresh = new Map(((await reply.json()).enforcements || []).map((e) => [e.id, e]));
      const changed = new Set();
      state.log = state.log.map((e) => {
        const now = fresh.get(e.id);
        if (!now || now.outcome === e.outcome) return e;
        changed.add(e.account_id);
        return now;
      });
      for (const id of changed) if (state.accounts.has(id)) render(id);
    }
  } catch (err) {
    console.warn("re-reading the enforcement log failed; trying again", err);
  } finally {
    pendingTimer = null;
    watchPending();
  }
}

let delay = 500;
let heard = 0;
let socket = null;

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/v1/stream`);
  socket = ws;
  if (state.downSince === null) setConn("connecting", "connecting…");
  ws.onopen = () => { delay = 500; heard = Date.now(); setConn("live", "live"); };
  ws.onmessage = (ev) => {
    heard = Date.now();
    try { onMessage(JSON.parse(ev.data)); } catch (err) { console.error("bad stream message", err); }
  };
  ws.onclose = () => lost(ws);
}

function lost(ws) {
  if (socket !== ws) return; // already given up on (the watchdog), or replaced
  socket = null;
  ws.onclose = ws.onmessage = null;
  const wait = delay;
  delay = Math.min(delay * 2, 10000);
  setConn("down", `disconnected — retrying in ${Math.ceil(wait / 1000)} s`);
  setTimeout(connect, wait + Math.random() * 250);
}

// A daemon that hangs (or a dead network) closes nothing: silence past the heartbeat is the sign.
setInterval(() => {
  if (socket && socket.readyState === WebSocket.OPEN && Date.now() - heard > SILENCE_MS) {
    const ws = socket;
    lost(ws);
    ws.close();
  }
}, 250);

setInterval(() => tickCountdowns(root), 1000);
setInterval(renderHeader, 1000);
renderZone();
connect();
