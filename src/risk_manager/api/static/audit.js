// The Audit view: log in to the admin API (the token lives in this page only, never in
// storage), then read /api/v1/admin/audit with it. Read-only: nothing here changes anything.
import { h } from "./format.js";

const form = document.getElementById("login");
const table = document.getElementById("audit");
const error = document.getElementById("login-error");
let token = null;

const show = (value) => (value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value));

async function load() {
  const reply = await fetch("/api/v1/admin/audit?limit=200", {
    headers: { Authorization: `Bearer ${token}` }, cache: "no-store",
  });
  if (reply.status === 401) { token = null; form.hidden = false; table.hidden = true; return; }
  const rows = (await reply.json()).audit || [];
  table.tBodies[0].replaceChildren(...rows.map((r) => h("tr", { "data-action": r.action },
    h("td", { class: "mono" }, r.at), h("td", {}, r.actor), h("td", {}, r.action),
    h("td", {}, show(r.detail.reason)), h("td", { class: "mono" }, show(r.detail.before)),
    h("td", { class: "mono" }, show(r.detail.after)))));
  form.hidden = true;
  table.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const password = document.getElementById("password");
  const reply = await fetch("/api/v1/admin/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ password: password.value }),
  });
  password.value = "";
  const body = await reply.json().catch(() => ({}));
  if (!reply.ok) { error.textContent = body.error || `refused (HTTP ${reply.status})`; return; }
  token = body.token;
  document.getElementById("who").textContent = `admin until ${body.expires_at}`;
  await load();
  setInterval(() => { if (token) load(); }, 5000);
});
