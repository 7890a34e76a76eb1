// Live state from /api/v1/stream; reconnects by itself with capped exponential backoff.
import { accountCard, tickCountdowns } from "./card.js";
import { h } from "./format.js";

const state = { accounts: new Map(), log: [], health: null };
const MAX_LOG = 200;
const root = document.getElementById("accounts");
const conn = document.getElementById("conn");

function setConn(kind, text) {
  // While not live the cards show the last data received: dim them so nobody trusts them.
  document.body.classList.toggle("stale", kind !== "live");
  conn.className = `conn conn-${kind}`;
  conn.dataset.state = kind;
  conn.textContent = text;
}

function render(id) {
  const ids = id === undefined ? [...state.accounts.keys()] : [id];
  document.getElementById("empty")?.remove();
  for (const accountId of ids) {
    const a = state.accounts.get(accountId);
    const old = root.querySelector(`[data-account="${accountId}"]`);
    const log = state.log.filter((e) => e.account_id === accountId).slice(0, 20);
    const card = accountCard(a, log);
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
  el.textContent = hl
    ? `daemon ${hl.status} · gateway ${hl.signalr_connected ? "connected" : "DISCONNECTED"}`
    : "";
  el.classList.toggle("bad", !!hl && (hl.status !== "ok" || !hl.signalr_connected));
}

function onMessage(msg) {
  switch (msg.type) {
    case "snapshot":
      state.accounts = new Map(msg.accounts.map((a) => [a.id, a]));
      state.log = msg.enforcements || [];
      state.health = msg.health || null;
      root.replaceChildren();
      render();
      break;
    case "account":
      state.accounts.set(msg.account.id, msg.account);
      render(msg.account.id);
      break;
    case "enforcement":
      state.log = [msg.entry, ...state.log].slice(0, MAX_LOG);
      if (state.accounts.has(msg.entry.account_id)) render(msg.entry.account_id);
      break;
    case "health":
      state.health = msg.health;
      renderHeader();
      break;
  }
}

let delay = 500;
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/v1/stream`);
  setConn("connecting", "connecting…");
  ws.onopen = () => { delay = 500; setConn("live", "live"); };
  ws.onmessage = (ev) => {
    try { onMessage(JSON.parse(ev.data)); } catch (err) { console.error("bad stream message", err); }
  };
  ws.onclose = () => {
    const wait = delay;
    delay = Math.min(delay * 2, 10000);
    setConn("down", `disconnected — retrying in ${Math.ceil(wait / 1000)} s`);
    setTimeout(connect, wait + Math.random() * 250);
  };
}

setInterval(() => tickCountdowns(root), 1000);
connect();
