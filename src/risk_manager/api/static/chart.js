// The day's net P&L curve against the loss limit, drawn as inline SVG.
import { clock, num, money, s, zoneLabel } from "./format.js";

const W = 600, H = 170, L = 56, R = 10, T = 10, B = 20;

export function pnlChart(account) {
  const pts = withLive(account)
    .map((p) => ({ t: Date.parse(p.at), v: num(p.net) }))
    .filter((p) => Number.isFinite(p.t) && p.v !== null);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img",
    "aria-label": "net P&L today" });
  const limit = num(account.loss_limit);
  const peak = num(account.pnl && account.pnl.day_peak_net);
  const values = pts.map((p) => p.v).concat([0]);
  if (limit !== null) values.push(-limit);
  let lo = Math.min(...values), hi = Math.max(...values);
  const pad = Math.max((hi - lo) * 0.08, 10);
  lo -= pad; hi += pad;
  const t0 = pts.length ? pts[0].t : 0, t1 = pts.length > 1 ? pts[pts.length - 1].t : t0 + 1;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + ((hi - v) / (hi - lo)) * (H - T - B);

  if (limit !== null) {
    const yl = y(-limit);
    svg.append(s("rect", { class: "zone", x: L, y: yl, width: W - L - R, height: Math.max(H - B - yl, 0) }));
    svg.append(s("line", { class: "limit", x1: L, x2: W - R, y1: yl, y2: yl }));
    svg.append(s("text", { x: W - R - 4, y: yl - 4, "text-anchor": "end" }, `loss limit ${money(-limit)}`));
  }
  svg.append(s("line", { class: "axis", x1: L, x2: W - R, y1: y(0), y2: y(0) }));
  svg.append(s("text", { x: L - 6, y: y(0) + 4, "text-anchor": "end" }, "0"));
  // Scale labels at the top and bottom, unless they would sit on the zero label.
  if (y(0) - (T + 10) > 14) svg.append(s("text", { x: L - 6, y: T + 10, "text-anchor": "end" }, money(Math.round(hi))));
  if (H - B - y(0) > 14) svg.append(s("text", { x: L - 6, y: H - B, "text-anchor": "end" }, money(Math.round(lo))));
  if (peak !== null && peak > 0) {
    svg.append(s("line", { class: "peak", x1: L, x2: W - R, y1: y(peak), y2: y(peak) }));
  }
  if (pts.length) {
    const last = pts[pts.length - 1];
    const d = pts.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
    const colour = last.v >= 0 ? "var(--ok)" : "var(--bad)";
    svg.append(s("path", { class: "curve", d, stroke: colour }));
    svg.append(s("circle", { cx: x(last.t), cy: y(last.v), r: 4, fill: colour }));
    const fmt = (t) => clock(t, { seconds: false });
    svg.append(s("text", { x: L, y: H - 4 }, fmt(t0)));
    svg.append(s("text", { x: W - R, y: H - 4, "text-anchor": "end" }, `${fmt(last.t)} ${zoneLabel(last.t)}`));
  } else {
    svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no P&L yet today"));
  }
  return svg;
}

// The curve, then the view's own net at its time: the curve is re-sent only when it gains a
// point (docs/API.md "Stream"), the view with every change.
function withLive(account) {
  const curve = account.pnl_curve || [];
  const net = account.pnl && account.pnl.net;
  const last = curve.length ? Date.parse(curve[curve.length - 1].at) : null;
  const at = Date.parse(account.as_of);
  // Instants, not strings: "…:50.2Z" sorts before "…:50Z" as text.
  if (net === null || net === undefined || !Number.isFinite(at) || (last !== null && at <= last)) {
    return curve;
  }
  return [...curve, { at: account.as_of, net }];
}
