"""The live page (HTML, CSS and script in one text): what :class:`LivePage` serves.

It opens a WebSocket to the page's own address (``ws`` beside the page) and shows each
message: the joint angle against the target zone (green and "in the target zone" when
reached), the rep count and the last rep's ROM, the calibration prompts, gaps, disconnects
and warnings, and a trace of the last 20 s. Phone first; no outside assets.
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>motiontrack live</title>
<style>
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:900px;
padding:12px 16px;color:#1d2330;font-size:16px;line-height:1.4}
header{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:center;gap:4px 12px}
h1{font-size:18px;margin:0}
.pill{font-size:13px;padding:2px 10px;border-radius:10px;background:#e4e6ee}
.pill.on{background:#d9f2df}.pill.off{background:#ffd0d0}
#prompt{margin:12px 0;padding:12px 14px;border-radius:10px;background:#eef3ff;border-left:6px solid #1f5fbf;
font-size:19px;font-weight:600;min-height:3.2em;overflow-wrap:anywhere}
#prompt.done{background:#e8f6ec;border-color:#2e8b57}#prompt.warning{background:#fff6e0;border-color:#f0a500}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}
.box{border:1px solid #dde;border-radius:10px;padding:10px 14px}
.k{font-size:13px;color:#4a5263}.big{font-size:44px;font-weight:700;line-height:1.1;white-space:nowrap}
#angle.in{color:#1e7a46}#zone{font-size:14px;font-weight:600;min-height:1.3em}
#zone.in{color:#1e7a46}
.gauge{position:relative;height:26px;margin:10px 0 2px;background:#eef0f5;border-radius:6px;overflow:hidden}
.gauge .zone{position:absolute;top:0;bottom:0;background:#bfe3c6}
.gauge .zone.in{background:#5cc27f}
.gauge .mark{position:absolute;top:-2px;bottom:-2px;width:4px;margin-left:-2px;background:#1d2330;display:none}
.scale{display:flex;justify-content:space-between;font-size:12px;color:#4a5263}
canvas{width:100%;height:160px;display:block;border:1px solid #dde;border-radius:8px;margin-top:10px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:right;padding:3px 6px;border-bottom:1px solid #eef}th{background:#f5f6fa}
#log{list-style:none;padding:0;margin:0;font-size:14px}
#log li{padding:4px 8px;margin:3px 0;border-left:4px solid #8a90a0;background:#f7f8fb;overflow-wrap:anywhere}
#log li.gap,#log li.disconnect{border-color:#d7263d;background:#fff0f1}
#log li.warning{border-color:#f0a500;background:#fff6e0}
#log li.reconnect{border-color:#2e8b57}
h2{font-size:16px;margin:18px 0 6px}
</style></head><body>
<header><h1 id="title">motiontrack live</h1><span id="conn" class="pill">connecting…</span></header>
<div id="prompt" aria-live="polite">Waiting for the session…</div>
<div class="grid">
 <div class="box"><div class="k" id="angle-name">angle</div><div class="big" id="angle">--</div>
  <div id="zone" aria-live="polite"></div></div>
 <div class="box"><div class="k">repetitions</div><div class="big" id="count" data-count="0">0</div>
  <div class="k" id="session-t"></div></div>
 <div class="box"><div class="k">last repetition's ROM</div><div class="big" id="rom">--</div>
  <div class="k" id="rom-detail"></div></div>
</div>
<div class="gauge" id="gauge"><div class="zone" id="gzone"></div><div class="mark" id="gmark"></div></div>
<div class="scale"><span id="glo"></span><span id="ghi"></span></div>
<div class="k" id="gtarget"></div>
<canvas id="trace" width="860" height="160" aria-label="angle over the last 20 s"></canvas>
<h2>Repetitions</h2>
<table><thead><tr><th>#</th><th>ROM (°)</th><th>min (°)</th><th>max (°)</th><th id="th-target">target</th></tr></thead>
<tbody id="reps"></tbody></table>
<h2>Session</h2>
<ul id="log"></ul>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const S = {target: null, lo: -20, hi: 170, trace: [], count: 0, prompts: [], ended: false};
function fmt(x, n) { return (x === null || x === undefined || !isFinite(x)) ? "--" : x.toFixed(n); }
function pct(v) { return Math.max(0, Math.min(100, 100 * (v - S.lo) / (S.hi - S.lo))); }
function inZone(v) {
  const z = S.target; if (!z || v === null || !isFinite(v)) return false;
  return (z.lo_deg === null || v >= z.lo_deg) && (z.hi_deg === null || v <= z.hi_deg);
}
function log(cls, t, text) {
  const li = document.createElement("li"); li.className = cls;
  li.textContent = "[" + fmt(t, 1) + " s] " + text; $("log").prepend(li);
}
function hello(m) {
  const name = (m.joint ? m.joint + " " : "") + m.angle.replace("_deg", "");
  $("title").textContent = "motiontrack live · " + name + (m.exercise ? " · " + m.exercise : "");
  $("angle-name").textContent = name + " (°)";
  S.lo = m.range[0]; S.hi = m.range[1]; S.target = m.target;
  $("glo").textContent = S.lo + "°"; $("ghi").textContent = S.hi + "°";
  const z = S.target;
  if (z) {
    const a = z.lo_deg === null ? S.lo : z.lo_deg, b = z.hi_deg === null ? S.hi : z.hi_deg;
    $("gzone").style.left = pct(a) + "%"; $("gzone").style.width = (pct(b) - pct(a)) + "%";
    $("gtarget").textContent = "target: " + z.text;
  } else { $("gtarget").textContent = "no target"; $("th-target").textContent = ""; }
}
function angle(m) {
  const v = m.angle_deg, ok = v !== null && isFinite(v), hit = inZone(v);
  $("angle").textContent = ok ? fmt(v, 1) + "°" : "--";
  $("angle").className = "big" + (hit ? " in" : "");
  $("zone").className = hit ? "in" : "";
  $("zone").textContent = !ok ? (m.final === false ? "calibrating…" : "no angle (no data)") :
    (S.target ? (hit ? "✓ in the target zone" : "target: " + S.target.text) : "");
  $("gzone").className = "zone" + (hit ? " in" : "");
  $("gmark").style.display = ok ? "block" : "none";
  if (ok) $("gmark").style.left = pct(v) + "%";
  $("session-t").textContent = "session time " + fmt(m.t, 1) + " s";
  S.trace.push([m.t, ok ? v : null]);
  while (S.trace.length && S.trace[0][0] < m.t - 20) S.trace.shift();
}
function rep(m) {
  const r = m.rep, shown = m.shown; S.count = m.count;
  $("count").textContent = String(m.count); $("count").dataset.count = String(m.count);
  $("rom").textContent = shown.rom_deg + "°"; $("rom").dataset.rom = String(r.rom_deg);
  $("rom-detail").textContent = "from " + shown.min_deg + "° to " + shown.max_deg + "°" +
    (r.flags.length ? " · " + r.flags.join(", ").replace(/_/g, " ") : "");
  const tr = document.createElement("tr"); tr.dataset.count = String(m.count);
  tr.dataset.rom = String(r.rom_deg);
  const reached = S.target ? ((S.target.direction > 0 ? inZone(r.max_deg) : inZone(r.min_deg)) ? "reached" : "not reached") : "";
  for (const x of [String(m.count), shown.rom_deg, shown.min_deg, shown.max_deg, reached]) {
    const td = document.createElement("td"); td.textContent = x; tr.appendChild(td);
  }
  $("reps").prepend(tr);
}
function prompt(text, cls) { $("prompt").textContent = text; $("prompt").className = cls || ""; }
function handle(m) {
  switch (m.type) {
    case "hello": hello(m); break;
    case "angle_update": angle(m); break;
    case "rep_completed": rep(m); break;
    case "calibration_prompt":
      S.prompts.push(m.message);
      prompt(m.message, m.step === "warning" ? "warning" : ""); log("prompt", m.t, m.message); break;
    case "calibration_done":
      prompt("Calibrated (" + m.pose + " pose). Exercise now: each repetition is counted.", "done");
      log("done", m.t, "calibrated, " + m.pose + " pose"); break;
    case "calibration_failed": log("warning", m.t, "calibration not yet: " + m.reason); break;
    case "data_gap":
      if (!m.bridged) log("gap", m.t, "no data from " + m.sensor + " for " + fmt(m.end_s - m.start_s, 2) +
        " s (" + m.missing_samples + " samples, " + m.cause.replace(/_/g, " ") + "): no angle there"); break;
    case "rep_interrupted":
      log("gap", m.t, "a repetition was cut by a gap in the data (" + fmt(m.rep.start_s, 1) + "–" +
        fmt(m.rep.end_s, 1) + " s): not counted"); break;
    case "sensor_disconnected": log("disconnect", m.t, m.sensor + " disconnected " + (m.detail || "")); break;
    case "sensor_reconnected": log("reconnect", m.t, m.sensor + " reconnected"); break;
    case "session_warning": log("warning", m.t, m.message); break;
    case "session_started": log("start", m.t, "streaming from " + m.source); break;
    case "session_ended":
      S.ended = true; prompt("Session ended: " + m.rep_count + " repetitions.", "done");
      log("end", m.t, "session ended, " + m.rep_count + " repetitions"); break;
  }
}
function draw() {
  const c = $("trace"), w = c.clientWidth, h = c.clientHeight, dpr = window.devicePixelRatio || 1;
  if (c.width !== Math.round(w * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
  const g = c.getContext("2d"); g.setTransform(dpr, 0, 0, dpr, 0, 0); g.clearRect(0, 0, w, h);
  const y = (v) => h - 6 - (h - 12) * (v - S.lo) / (S.hi - S.lo);
  const z = S.target;
  if (z) {
    const a = y(z.lo_deg === null ? S.lo : z.lo_deg), b = y(z.hi_deg === null ? S.hi : z.hi_deg);
    g.fillStyle = "rgba(46,139,87,0.15)"; g.fillRect(0, b, w, a - b);
  }
  if (!S.trace.length) { requestAnimationFrame(draw); return; }
  const t1 = S.trace[S.trace.length - 1][0], x = (t) => w - (t1 - t) / 20 * w;
  g.strokeStyle = "#1f5fbf"; g.lineWidth = 2; g.beginPath(); let pen = false;
  for (const [t, v] of S.trace) {
    if (v === null) { pen = false; continue; }
    if (pen) g.lineTo(x(t), y(v)); else g.moveTo(x(t), y(v)); pen = true;
  }
  g.stroke(); requestAnimationFrame(draw);
}
function connect() {
  const ws = new WebSocket(location.href.replace(/^http/, "ws").replace(/\\/?(\\?.*)?$/, "/ws"));
  ws.onopen = () => { $("conn").textContent = "live"; $("conn").className = "pill on"; };
  ws.onmessage = (e) => handle(JSON.parse(e.data));
  ws.onclose = () => {
    $("conn").textContent = S.ended ? "session ended" : "connection lost";
    $("conn").className = "pill off";
  };
}
connect(); requestAnimationFrame(draw);
</script></body></html>
"""
