import { escapeHtml, jsonForScript, uplotAssets } from '../sim/report/self-contained-page.js';
import { capacityClasses } from './classes.js';
import { type CapacityReport, describeHpa } from './report.js';

/**
 * The chart of `peakride capacity`: one self-contained page (uPlot inlined, as the simulator's
 * report does, src/sim/report/html.ts), the HPA and serverless replays on a shared time axis.
 * A Content-Security-Policy forbids every network load.
 */

const percent = (share: number | null, digits = 2) =>
  share === null || !Number.isFinite(share) ? '–' : `${(share * 100).toFixed(digits)}%`;
const integer = (value: number) => Math.round(value).toLocaleString('en-US');
const finite = (value: number) => (Number.isFinite(value) ? Math.round(value * 100) / 100 : null);

const css = `
:root { --ink: #1d2430; --muted: #5b6574; --line: #dfe3ea; --good: #137a3a; --bad: #b42318; }
body { margin: 0; background: #f4f6f9; color: var(--ink); font: 14px/1.45 system-ui, sans-serif; }
header { background: #18202c; color: #fff; padding: 18px 32px; }
header h1 { margin: 0; font-size: 21px; font-weight: 600; } header p { margin: 6px 0 0; color: #c9d3e0; max-width: 110ch; }
main { max-width: 1440px; margin: 0 auto; padding: 16px 32px 40px; }
h2 { font-size: 16px; margin: 26px 0 10px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 12px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: top; }
th:first-child { text-align: left; } thead th { color: var(--muted); font-size: 12px; background: #fafbfc; }
.good { color: var(--good); font-weight: 600; } .bad { color: var(--bad); font-weight: 600; } .muted { color: var(--muted); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 14px; }
.chart { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px 6px; min-width: 0; }
.chart h3 { margin: 0 0 4px; font-size: 14px; } .unit { color: var(--muted); font-size: 12px; }
ul { margin: 0; padding-left: 20px; } li { margin: 3px 0; } code { font-size: 12px; }
`;

const chartScript = `
(function () {
  'use strict';
  var d = JSON.parse(document.getElementById('capacity-data').textContent);
  var parts = String(d.startsAt || '00:00').split(':');
  var startOfDay = (Number(parts[0]) || 0) * 3600 + (Number(parts[1]) || 0) * 60;
  var two = function (n) { return (n < 10 ? '0' : '') + n; };
  var clock = function (t) {
    var day = ((Math.round(startOfDay + t) % 86400) + 86400) % 86400;
    return two(Math.floor(day / 3600)) + ':' + two(Math.floor((day % 3600) / 60));
  };
  var number = function (v) {
    if (v == null || isNaN(v)) return '–';
    var a = Math.abs(v);
    return a >= 1000 ? Math.round(v).toLocaleString('en-US') : a >= 10 ? (Math.round(v * 10) / 10).toString() : (Math.round(v * 1000) / 1000).toString();
  };
  var sync = uPlot.sync('capacity');
  var charts = [];
  function chart(id, lines, opts) {
    var element = document.getElementById(id);
    opts = opts || {};
    var u = new uPlot({
      width: Math.max(element.clientWidth, 300), height: 240,
      scales: { x: { time: false }, y: opts.log ? { distr: 3, log: 10 } : { range: function (u, min, max) {
        return [0, max == null || max <= 0 ? 1 : max * 1.08]; } } },
      axes: [
        { space: 70, incrs: [60, 300, 900, 1800, 3600, 7200, 10800, 21600], values: function (u, s) { return s.map(function (t) { return t == null ? '' : clock(t); }); } },
        { size: 60, values: function (u, s) { return s.map(function (v) { return v == null ? '' : number(v); }); } }
      ],
      cursor: { sync: { key: sync.key } },
      series: [{ label: 'time', value: function (u, v) { return v == null ? '–' : clock(v); } }].concat(lines.map(function (line) {
        return { label: line.label, stroke: line.colour, width: 1.5, dash: line.dash, points: { show: false }, value: function (u, v) { return number(v); } };
      }))
    }, [d.t].concat(lines.map(function (line) { return line.data; })), element);
    charts.push({ u: u, element: element });
  }
  var flat = function (value) { return d.t.map(function () { return value; }); };
  chart('chart-demand', [
    { label: 'all requests', data: d.requests, colour: '#1d2430' },
    { label: 'location', data: d.location, colour: '#1f5fbf' },
    { label: 'quote', data: d.quote, colour: '#e8890c' },
    { label: 'booking', data: d.booking, colour: '#c62828' },
    { label: 'lifecycle + offers', data: d.lifecycle, colour: '#2e7d32' }
  ]);
  chart('chart-replicas', [
    { label: 'HPA desired', data: d.replicas, colour: '#1f5fbf' },
    { label: 'ready pods', data: d.ready, colour: '#2e7d32' },
    { label: 'nodes', data: d.nodes, colour: '#8d6e63' },
    { label: 'serverless instances', data: d.instances, colour: '#6a1b9a', dash: [5, 3] }
  ]);
  chart('chart-utilization', [
    { label: 'event loop of a pod', data: d.utilization, colour: '#1f5fbf' },
    { label: 'CPU cores of a pod', data: d.cpu, colour: '#00838f' },
    { label: 'HPA target', data: flat(d.target), colour: '#2e7d32', dash: [4, 4] },
    { label: 'shedding above', data: flat(d.shedAt), colour: '#c62828', dash: [4, 4] }
  ]);
  chart('chart-latency', [
    { label: 'booking p99, HPA', data: d.bookingHpa, colour: '#1f5fbf' },
    { label: 'booking p99, serverless', data: d.bookingFn, colour: '#6a1b9a' },
    { label: 'quote p99, HPA', data: d.quoteHpa, colour: '#e8890c' },
    { label: 'objective', data: flat(d.objectiveMs), colour: '#c62828', dash: [4, 4] }
  ], { log: true });
  chart('chart-refused', [
    { label: 'quotes and reads shed (share), HPA', data: d.shed, colour: '#e8890c' },
    { label: 'failed req/s, HPA', data: d.failed, colour: '#c62828' },
    { label: 'throttled req/s, serverless', data: d.throttled, colour: '#6a1b9a' }
  ]);
  chart('chart-cold', [
    { label: 'cold starts/s', data: d.cold, colour: '#6a1b9a' },
    { label: 'requests waiting for one (share)', data: d.coldShare, colour: '#c62828' }
  ]);
  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.u.setSize({ width: Math.max(c.element.clientWidth, 300), height: 240 }); });
  });
})();
`;

const card = (id: string, title: string, unit: string) =>
  `<div class="chart"><h3>${escapeHtml(title)}</h3><div class="unit">${escapeHtml(unit)}</div><div id="${id}"></div></div>`;

export const renderCapacityHtml = (report: CapacityReport): string => {
  const assets = uplotAssets();
  const hpa = report.hpa.series;
  const fn = report.serverless.series;
  const pick = <T>(list: T[], value: (item: T) => number) => list.map((item) => finite(value(item)));
  const latencyObjective = report.hpa.slo.find((slo) => slo.thresholdMs !== undefined);
  const target = report.inputs.hpa.metrics.find((metric) => metric.type === 'Pods');
  const data = {
    startsAt: report.scenario.startsAt,
    t: hpa.map((point) => point.t),
    requests: pick(hpa, (point) => capacityClasses.reduce((sum, kind) => sum + point.demand[kind], 0)),
    location: pick(hpa, (point) => point.demand.location),
    quote: pick(hpa, (point) => point.demand.quote),
    booking: pick(hpa, (point) => point.demand.booking),
    lifecycle: pick(hpa, (point) => point.demand.lifecycle + point.demand.offerAnswer),
    replicas: pick(hpa, (point) => point.replicas),
    ready: pick(hpa, (point) => point.ready),
    nodes: pick(hpa, (point) => point.nodes),
    instances: pick(fn, (point) => point.instances),
    utilization: pick(hpa, (point) => point.utilization),
    cpu: pick(hpa, (point) => point.cpu),
    target: target ? target.target.averageValue : null,
    shedAt: report.inputs.parameters.shedUtilization,
    bookingHpa: pick(hpa, (point) => point.p99Ms.booking),
    bookingFn: pick(fn, (point) => point.p99Ms.booking),
    quoteHpa: pick(hpa, (point) => point.p99Ms.quote),
    objectiveMs: latencyObjective?.thresholdMs ?? null,
    shed: pick(hpa, (point) => point.shedShare),
    failed: pick(hpa, (point) => point.failed),
    throttled: pick(fn, (point) => point.throttled),
    cold: pick(fn, (point) => point.coldStarts),
    coldShare: pick(fn, (point) => point.coldShare),
  };
  const sloRows = report.hpa.slo
    .map((slo, index) => {
      const other = report.serverless.slo[index]!;
      const cell = (s: typeof slo) =>
        !s.modelled
          ? `<span class="muted">not modelled</span>`
          : `<span class="${s.met ? 'good' : 'bad'}">${s.met ? 'met' : 'missed'}</span> ${percent(s.value, 3)} · ${percent(s.budgetSpent, 1)} of budget`;
      return `<tr><th>${escapeHtml(slo.name)}<div class="muted">${escapeHtml(slo.modelled ? slo.description : (slo.reason ?? ''))}</div></th><td>${percent(slo.target, 1)}</td><td>${cell(slo)}</td><td>${cell(other)}</td></tr>`;
    })
    .join('');
  const { recommendation } = report;
  const recommended =
    recommendation.found && recommendation.candidate && recommendation.spec
      ? `<p>Cheapest setting meeting every modelled SLO: <b>target ${Math.round(recommendation.candidate.targetUtilization * 100)}%, minReplicas ${recommendation.candidate.minReplicas}, maxReplicas ${recommendation.candidate.maxReplicas}${recommendation.candidate.maxReplicas > recommendation.manifestMaxReplicas ? ` (manifest: ${recommendation.manifestMaxReplicas})` : ''}, scale-up ${escapeHtml(recommendation.candidate.scaleUp.name)}</b>: ${integer(recommendation.replicaSeconds ?? 0)} replica-seconds, peak ${recommendation.peakReplicas} pods (${recommendation.evaluated} settings replayed).</p>`
      : `<p class="bad">No setting of the search met every modelled SLO (${recommendation.evaluated} settings replayed).</p>`;
  const title = `${report.scenario.name} · scale ${report.scenario.scale}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>peakride capacity · ${escapeHtml(title)}</title>
<style>${assets.style}</style>
<style>${css}</style>
</head>
<body>
<header>
<h1>peakride capacity · ${escapeHtml(title)} · HPA <span class="${report.hpa.holds ? 'good' : 'bad'}">${report.hpa.holds ? 'holds' : 'misses'}</span>, serverless <span class="${report.serverless.holds ? 'good' : 'bad'}">${report.serverless.holds ? 'holds' : 'misses'}</span></h1>
<p>${escapeHtml(report.scenario.description)}</p>
<p>HPA ${escapeHtml(report.inputs.hpaFile)}: ${escapeHtml(describeHpa(report.inputs.hpa))}. Pod capacity ${escapeHtml(report.inputs.podCapacityFile)} (${escapeHtml(report.inputs.podCapacity.measuredAt)}).</p>
</header>
<main>
<h2>Service level objectives over the run</h2>
<table><thead><tr><th>Objective</th><th>Target</th><th>HPA (Kubernetes)</th><th>Serverless</th></tr></thead><tbody>${sloRows}
<tr><th>Peak</th><td></td><td>${report.hpa.totals.peakReplicas} pods, ${report.hpa.totals.peakNodes} nodes</td><td>${integer(report.serverless.totals.peakInstances)} instances</td></tr>
<tr><th>Cost</th><td></td><td>${integer(report.hpa.totals.replicaSeconds)} replica-seconds</td><td>${integer(report.serverless.totals.billedSeconds)} billed instance-seconds</td></tr>
</tbody></table>
${recommended}
<h2>Over time</h2>
<div class="charts">
${card('chart-demand', 'Demand', 'requests per second, mean per sync period')}
${card('chart-replicas', 'Capacity', 'pods, nodes, serverless instances')}
${card('chart-utilization', 'A ready pod', 'event-loop utilisation (0–1) and CPU cores')}
${card('chart-latency', 'Latency', 'estimated p99, ms (log scale), worst second of each period')}
${card('chart-refused', 'Refused', 'share shed (HPA); requests per second failed or throttled')}
${card('chart-cold', 'Serverless cold starts', 'per second, and the share of requests that waited for one')}
</div>
<h2>How the requests are derived</h2>
<ul>${report.derivation.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>
<h2>Limits of the model</h2>
<ul>${report.limits.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>
<p class="muted">docs/capacity.md explains the model. Charts: uPlot (MIT).</p>
</main>
<script type="application/json" id="capacity-data">${jsonForScript(data)}</script>
<script>${assets.script}</script>
<script>${chartScript}</script>
</body>
</html>
`;
};
