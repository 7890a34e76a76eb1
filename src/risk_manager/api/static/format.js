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

// Every time on the page is shown in one zone, labelled: the trading day's (config
// trading_day.timezone, "CT" as the lock reasons say it) or, by the header's toggle, the
// viewer's own. `zone` is set from the daemon's views.
export const zone = { name: "America/Chicago", label: "CT", local: false };

export function setZone(name, label) {
  if (name) zone.name = name;
  if (label) zone.label = label;
}

function formatter(opts) {
  return new Intl.DateTimeFormat("en-GB", { ...opts, hourCycle: "h23", timeZone: zone.local ? undefined : zone.name });
}

// The label of the zone times are shown in: "CT", or the viewer's own abbreviation ("CET").
export function zoneLabel(at = Date.now()) {
  if (!zone.local) return zone.label;
  const part = new Intl.DateTimeFormat([], { timeZoneName: "short" }).formatToParts(new Date(at))
    .find((p) => p.type === "timeZoneName");
  return part ? part.value : "local";
}

// "14:03:07" (or "14:03" without seconds) in the shown zone, unlabelled: callers label once.
export function clock(iso, { seconds = true } = {}) {
  if (!iso) return "";
  const t = typeof iso === "number" ? iso : Date.parse(iso);
  return formatter({ hour: "2-digit", minute: "2-digit", second: seconds ? "2-digit" : undefined }).format(new Date(t));
}

function dayOf(t) {
  return formatter({ year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(t));
}

// "17:00 CT", or "Mon 17:00 CT" when not today (in the shown zone).
export function at(iso, now = Date.now()) {
  const t = Date.parse(iso);
  const day = dayOf(t) === dayOf(now) ? "" : `${formatter({ weekday: "short" }).format(new Date(t))} `;
  return `${day}${clock(t, { seconds: false })} ${zoneLabel(t)}`;
}

// A length of time that cannot be read as a clock: "17 h 48 m", "4 m 05 s", "12 s".
export function duration(seconds) {
  const left = Math.max(0, Math.floor(seconds));
  const hr = Math.floor(left / 3600), m = Math.floor(left / 60) % 60, s = left % 60;
  if (hr > 0) return `${hr} h ${String(m).padStart(2, "0")} m`;
  if (m > 0) return `${m} m ${String(s).padStart(2, "0")} s`;
  return `${s} s`;
}

// A lock's countdown: "ends in 17 h 48 m · at 17:00 CT".
export function countdown(endsAt, now = Date.now()) {
  if (!endsAt) return "until cleared";
  const left = secondsUntil(endsAt, now);
  if (left <= 0) return "ending…";
  return `ends in ${duration(left)} · at ${at(endsAt, now)}`;
}

export function secondsUntil(iso, now = Date.now()) {
  return (Date.parse(iso) - now) / 1000;
}
