/**
 * The live dashboard: one self-contained page (no external scripts) that polls
 * /api/status every second and draws the loss and eval curves, throughput, per-shard load
 * and membership. Served by the coordinator's HTTP listener when --dashboard is on, behind
 * loginHtml's form when the cluster has a token (http.ts).
 */
export const dashboardHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rowshard</title><link rel="icon" href="data:,">
<style>
 body{font:14px system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
 h1{font-size:20px;margin:0 0 4px} .sub{color:#666;margin-bottom:16px}
 .cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:16px}
 .card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:120px}
 .card b{display:block;font-size:20px} .grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
 svg{background:#fff;border:1px solid #ddd;border-radius:6px;width:100%;height:240px}
 svg text{font:10px system-ui,sans-serif;fill:#555} svg .grid line{stroke:#eee} svg .frame{stroke:#999}
 table{border-collapse:collapse;background:#fff;width:100%} td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
 th{background:#f0f0f0} td:first-child,th:first-child{text-align:left}
</style></head><body>
<h1>rowshard</h1><div class="sub" id="phase">connecting…</div>
<div class="cards">
 <div class="card">step<b id="step">–</b></div>
 <div class="card">loss<b id="loss">–</b></div>
 <div class="card">examples/s<b id="rate">–</b></div>
 <div class="card">eval accuracy<b id="acc">–</b></div>
 <div class="card">workers<b id="workers">–</b></div>
</div>
<div class="grid">
 <div><h3>training loss <small>(mean cross-entropy per report window, by step)</small></h3><svg id="lossChart" viewBox="0 0 400 220"><g class="axes"></g><polyline id="lossLine" fill="none" stroke="#2a6fdb" stroke-width="2" points=""/></svg></div>
 <div><h3>held-out eval <small>(green: accuracy, %; orange: loss, right axis; by step)</small></h3><svg id="evalChart" viewBox="0 0 400 220"><g class="axes"></g><polyline id="accLine" fill="none" stroke="#2a9d4a" stroke-width="2" points=""/><polyline id="evalLossLine" fill="none" stroke="#d9822b" stroke-width="2" points=""/></svg></div>
</div>
<h3>shards</h3><table id="shards"><thead><tr><th>shard</th><th>address</th><th>ready</th><th>rows</th><th>bytes</th><th>rows pulled</th><th>rows pushed</th><th>requests</th><th>ids admitted / rejected / evicted</th></tr></thead><tbody></tbody></table>
<script>
const history = [];
const fmt = (n) => n == null ? '–' : Math.abs(n) >= 1e6 ? (n/1e6).toFixed(2)+'M' : Math.abs(n) >= 1e3 ? (n/1e3).toFixed(1)+'k' : Number.isInteger(+n) ? String(n) : (+n).toPrecision(4);
// Plot area inside each chart's 400×220 viewBox: room on the left and right for the value
// axes, below for the step axis.
const X0 = 44, X1 = 356, Y0 = 10, Y1 = 185;
const xAt = (x, lo, hi) => X0 + (hi > lo ? (x - lo) / (hi - lo) : 0) * (X1 - X0);
const yAt = (v, lo, hi) => Y1 - (hi > lo ? (v - lo) / (hi - lo) : 0) * (Y1 - Y0);
function line(el, xs, values, xLo, xHi, lo, hi) {
  el.setAttribute('points', values.map((v, i) => xAt(xs[i], xLo, xHi).toFixed(1) + ',' + yAt(v, lo, hi).toFixed(1)).join(' '));
}
const svgNs = 'http://www.w3.org/2000/svg';
function add(parent, name, attrs, text) {
  const el = document.createElementNS(svgNs, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  parent.appendChild(el);
}
/** Axes of a chart: steps below; values left (and right, for a second series), with grid lines. */
function axes(svg, xLo, xHi, left, right) {
  const g = svg.querySelector('.axes');
  g.innerHTML = '';
  add(g, 'rect', { class: 'frame', x: X0, y: Y0, width: X1 - X0, height: Y1 - Y0, fill: 'none' });
  for (let k = 0; k <= 4; k++) {
    const y = Y1 - (k / 4) * (Y1 - Y0);
    add(g, 'line', { class: 'grid', x1: X0, x2: X1, y1: y, y2: y });
    add(g, 'text', { x: X0 - 4, y: y + 3, 'text-anchor': 'end' }, left.label(left.lo + (k / 4) * (left.hi - left.lo)));
    if (right) add(g, 'text', { x: X1 + 4, y: y + 3 }, right.label(right.lo + (k / 4) * (right.hi - right.lo)));
  }
  for (let k = 0; k <= 4; k++) {
    const x = X0 + (k / 4) * (X1 - X0);
    add(g, 'text', { x, y: Y1 + 13, 'text-anchor': 'middle' }, String(Math.round(xLo + (k / 4) * (xHi - xLo))));
  }
  add(g, 'text', { x: (X0 + X1) / 2, y: Y1 + 28, 'text-anchor': 'middle' }, 'step');
}
const number = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(2));
async function tick() {
  try {
    const r = await fetch('/api/status', { cache: 'no-store' });
    // Signed out (the coordinator restarted with another token): the page itself asks to sign in.
    if (r.status === 401) { location.reload(); return; }
    const s = await r.json();
    const p = s.lastProgress || {};
    document.getElementById('phase').textContent = 'phase: ' + s.phase + ' · epoch ' + s.restores + ' · recoveries ' + s.recoveries;
    document.getElementById('step').textContent = p.step ?? '–';
    document.getElementById('loss').textContent = fmt(p.loss);
    document.getElementById('rate').textContent = fmt(p.examplesPerSec);
    const ev = (s.evals || []).at(-1);
    document.getElementById('acc').textContent = ev && ev.accuracy != null ? (100 * ev.accuracy).toFixed(1) + '%' : '–';
    document.getElementById('workers').textContent = s.workersDone + ' done / ' + s.workers;
    const progress = s.progressHistory || [];
    const losses = progress.map((e) => e.loss);
    const steps = progress.map((e) => e.step);
    const evals = s.evals || [];
    const lastStep = Math.max(1, ...steps, ...evals.map((e) => e.step));
    const lossHi = Math.max(...losses, 1e-9);
    axes(document.getElementById('lossChart'), 0, lastStep, { lo: 0, hi: lossHi, label: number });
    const lineEl = document.getElementById('lossLine');
    line(lineEl, steps, losses, 0, lastStep, 0, lossHi);
    lineEl.setAttribute('data-points', String(losses.length));
    const evalSteps = evals.map((e) => e.step);
    const evalLosses = evals.map((e) => e.loss);
    const evalLossHi = Math.max(...evalLosses, 1e-9);
    axes(document.getElementById('evalChart'), 0, lastStep, { lo: 0, hi: 1, label: (v) => (100 * v).toFixed(0) + '%' }, { lo: 0, hi: evalLossHi, label: number });
    line(document.getElementById('accLine'), evalSteps, evals.map((e) => e.accuracy ?? 0), 0, lastStep, 0, 1);
    line(document.getElementById('evalLossLine'), evalSteps, evalLosses, 0, lastStep, 0, evalLossHi);
    const body = document.querySelector('#shards tbody');
    body.innerHTML = '';
    (s.shards || []).forEach((url, i) => {
      const load = (s.shardLoad || []).find((l) => l.shard === i) || {};
      const req = load.requests ? Object.values(load.requests).reduce((a, b) => a + b, 0) : null;
      const tr = document.createElement('tr');
      const dyn = load.dynamic ? [load.dynamic.admitted, load.dynamic.rejected, load.dynamic.evicted].map(fmt).join(' / ') : '–';
      [i, url || '–', s.shardsReady[i] ? 'yes' : 'no', fmt(load.rowsMaterialised), fmt(load.bytesUsed), fmt(load.rowsPulled), fmt(load.rowsPushed), fmt(req), dyn]
        .forEach((v) => { const td = document.createElement('td'); td.textContent = v; tr.appendChild(td); });
      body.appendChild(tr);
    });
  } catch (e) {
    document.getElementById('phase').textContent = 'coordinator unreachable: ' + e.message;
  }
}
tick(); setInterval(tick, 1000);
</script></body></html>`;

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/**
 * The page the dashboard answers with until the browser signs in: one field for the cluster
 * token (or a role credential of it), posted to /login, which sets the session cookie.
 */
export function loginHtml(message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rowshard: sign in</title><link rel="icon" href="data:,">
<style>
 body{font:14px system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
 form{background:#fff;border:1px solid #ddd;border-radius:6px;padding:14px;max-width:420px}
 input[type=password]{width:100%;box-sizing:border-box;padding:6px;margin:8px 0} .err{color:#b00020}
</style></head><body>
<h1>rowshard</h1>
<form method="post" action="/login">
 <label for="token">This cluster's dashboard needs its token (ROWSHARD_TOKEN) or a credential of it (rowshard token --role viewer).</label>
 <input id="token" name="token" type="password" autocomplete="off" autofocus required>
 <button id="signin" type="submit">Sign in</button>
 ${message ? `<p class="err" id="error">${escapeHtml(message)}</p>` : ''}
</form>
</body></html>`;
}
