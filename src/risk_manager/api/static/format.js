// Formatting and DOM helpers. Text always goes in through textContent (never innerHTML):
// reasons and names come from the broker and must not become markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// Money arrives as decimal strings; numbers are only used for drawing, never for sums.
export function num(v) {
  if (v === null || v === undefined || v === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

export function money(v, { sign = true } = {}) {
  if (v === null || v === undefined) return "—";
  const str = String(v);
  const neg = str.startsWith("-");
  const abs = neg ? str.slice(1) : str;
  const [int, frac] = abs.split(".");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const body = frac !== undefined ? `${grouped}.${frac}` : grouped;
  if (neg) return `−${body}`;
  return sign && num(v) > 0 ? `+${body}` : body;
}

export function signClass(v) {
  const n = num(v);
  if (n === null || n === 0) return "";
  return n > 0 ? "pos" : "neg";
}

export function duration(seconds) {
  if (seconds <= 0) return "0:00";
  const s = Math.floor(seconds % 60), m = Math.floor(seconds / 60) % 60, hr = Math.floor(seconds / 3600);
  const pad = (x) => String(x).padStart(2, "0");
  return hr > 0 ? `${hr}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

export function secondsUntil(iso, now = Date.now()) {
  return (Date.parse(iso) - now) / 1000;
}

export function clock(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}
