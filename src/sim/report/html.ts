import { requestClasses } from '../types.js';
import type { Report } from './report.js';
import { escapeHtml, jsonForScript, uplotAssets } from './self-contained-page.js';

/**
 * report.html: one self-contained page that opens offline (mailed, attached to a CI run, opened
 * years later). uPlot's script and stylesheet are read from node_modules and inlined; the report
 * goes in as a JSON block that the page's own script charts. A Content-Security-Policy forbids
 * every network load, so nothing external can sneak in later either.
 */

const integer = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number | null) =>
  value === null ? '–' : value >= 100 ? integer(value) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
const percent = (share: number | null, digits = 1) =>
  share === null ? '–' : `${(share * 100).toFixed(digits)}%`;
const duration = (seconds: number) => {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0
    ? `${h} h ${String(m).padStart(2, '0')} min`
    : m > 0
      ? `${m} min ${String(s).padStart(2, '0')} s`
      : `${s} s`;
};
const pill = (good: boolean, yes: string, no: string) =>
  `<span class="pill ${good ? 'good' : 'bad'}">${good ? yes : no}</span>`;
const row = (cells: string[], header = false) =>
  `<tr>${cells.map((cell, index) => (header ? `<th>${cell}</th>` : index === 0 ? `<th scope="row">${cell}</th>` : `<td>${cell}</td>`)).join('')}</tr>`;

const statusMeaning: Record<string, string> = {
  '0': 'no answer (connection failed or timed out)',
  '400': 'bad request',
  '401': 'unauthenticated',
  '403': 'forbidden',
  '404': 'not found',
  '409': 'conflict (state changed under the agent)',
  '410': 'gone (quote expired)',
  '422': 'unprocessable',
  '429': 'too many requests',
  '500': 'internal error',
  '502': 'bad gateway',
  '503': 'unavailable (not shedding)',
  '504': 'gateway timeout',
};

const css = `
:root { --ink: #1d2430; --muted: #5b6574; --line: #dfe3ea; --panel: #ffffff; --page: #f4f6f9;
  --good: #137a3a; --good-bg: #e3f4e9; --bad: #b42318; --bad-bg: #fde8e6; --accent: #1f5fbf; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--page); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: #18202c; color: #fff; padding: 20px 32px 18px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; display: flex; gap: 14px; align-items: center; flex-wrap: wrap; }
header .kind { color: #9fb0c8; font-weight: 400; }
header p { margin: 6px 0 0; color: #c9d3e0; max-width: 90ch; }
.badge { font-size: 13px; font-weight: 700; letter-spacing: .06em; padding: 3px 10px; border-radius: 4px; }
.badge.good { background: #1f9d55; color: #fff; } .badge.bad { background: #d92d20; color: #fff; }
.facts { display: flex; flex-wrap: wrap; gap: 6px 28px; margin: 14px 0 0; padding: 0; font-size: 13px; }
.facts div { display: flex; gap: 6px; } .facts dt { color: #9fb0c8; } .facts dd { margin: 0; font-variant-numeric: tabular-nums; }
main { max-width: 1440px; margin: 0 auto; padding: 20px 32px 40px; }
h2 { font-size: 16px; margin: 28px 0 10px; font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; margin-top: 2px; }
.card .detail { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 12px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: top; }
th:first-child, td.text { text-align: left; } thead th { color: var(--muted); font-weight: 600; font-size: 12px; background: #fafbfc; }
tbody th { font-weight: 600; } tr:last-child th, tr:last-child td { border-bottom: 0; }
td.text { color: var(--muted); max-width: 60ch; } th.list, td.list { text-align: left; }
.notes { color: var(--muted); font-size: 12px; font-weight: 400; margin-top: 4px; max-width: 70ch; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.pill { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px; }
.pill.good { color: var(--good); background: var(--good-bg); } .pill.bad { color: var(--bad); background: var(--bad-bg); }
.bar { display: inline-block; width: 80px; height: 8px; background: #eceff3; border-radius: 4px; vertical-align: middle; margin-left: 8px; overflow: hidden; }
.bar i { display: block; height: 100%; background: var(--good); } .bar i.over { background: var(--bad); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 14px; }
.chart { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px 6px; min-width: 0; }
.chart h3 { margin: 0 0 2px; font-size: 14px; font-weight: 600; } .chart .unit { color: var(--muted); font-size: 12px; margin-bottom: 4px; }
.uplot .u-legend { font-size: 12px; } .empty { color: var(--muted); }
footer { color: var(--muted); font-size: 12px; margin-top: 28px; }
@media (max-width: 700px) { header, main { padding-left: 14px; padding-right: 14px; } .charts { grid-template-columns: 1fr; } }
`;

/** The page's own script: builds the charts from the JSON block. Plain ES2017, no template literals. */
const chartScript = `
(function () {
  'use strict';
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var s = report.series;
  var perMinute = 60 / s.bucketSeconds;
  var parts = String(report.startsAt || '00:00').split(':');
  var startOfDay = (Number(parts[0]) || 0) * 3600 + (Number(parts[1]) || 0) * 60;
  var two = function (n) { return (n < 10 ? '0' : '') + n; };
  var clock = function (t) {
    var day = ((Math.round(startOfDay + t) % 86400) + 86400) % 86400;
    return two(Math.floor(day / 3600)) + ':' + two(Math.floor((day % 3600) / 60)) + ':' + two(day % 60);
  };
  var number = function (v) {
    if (v == null || isNaN(v)) return '–';
    var a = Math.abs(v);
    return a >= 1000 ? Math.round(v).toLocaleString('en-US') : a >= 10 ? (Math.round(v * 10) / 10).toString()
      : (Math.round(v * 100) / 100).toString();
  };
  var rate = function (column) { return column.map(function (v) { return v == null ? null : v * perMinute; }); };
  var positive = function (column) { return column.map(function (v) { return v == null || v <= 0 ? null : v; }); };
  // Ticks on round steps of the clock (the scenario starts on a whole minute).
  var clockSteps = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  var colours = ['#1f5fbf', '#e8890c', '#c62828', '#2e7d32', '#6a1b9a', '#00838f', '#8d6e63', '#455a64'];
  var charts = [];
  var sync = uPlot.sync('sim');

  function chart(id, lines, opts) {
    var element = document.getElementById(id);
    if (!element) return;
    opts = opts || {};
    var width = Math.max(element.clientWidth, 280);
    var u = new uPlot({
      width: width,
      height: 230,
      scales: { x: { time: false }, y: opts.log ? { distr: 3, log: 10, range: function (u, min, max) {
        // A class with no requests still gets an axis: 1 ms to 1 s.
        return min == null || max == null ? [1, 1000] : uPlot.rangeLog(min, max, 10, true);
      } } : { range: function (u, min, max) {
        return [Math.min(0, min == null ? 0 : min), max == null || max <= 0 ? 1 : max * 1.08];
      } } },
      axes: [
        { space: 70, incrs: clockSteps, values: function (u, splits, axis, space, step) {
          return splits.map(function (t) { return t == null ? '' : step >= 60 ? clock(t).slice(0, 5) : clock(t); });
        } },
        { size: 56, values: function (u, splits) {
          return splits.map(function (v) { return v == null ? '' : number(v); });
        } }
      ],
      cursor: { sync: { key: sync.key } },
      legend: { live: true },
      series: [{ label: 'time', value: function (u, v) { return v == null ? '–' : clock(v); } }].concat(lines.map(function (line, i) {
        return { label: line.label, stroke: line.colour || colours[i % colours.length], width: 1.6,
          spanGaps: !!opts.spanGaps, points: { show: false },
          value: function (u, v) { return number(v); } };
      }))
    }, [s.t].concat(lines.map(function (line) { return line.data; })), element);
    charts.push({ u: u, element: element });
  }

  chart('chart-demand', [
    { label: 'requested', data: rate(s.outcomes.requested) },
    { label: 'booked', data: rate(s.outcomes.created) },
    { label: 'walked away', data: rate(s.outcomes.walkedAway) }
  ]);
  chart('chart-drivers', [{ label: 'online drivers', data: s.onlineDrivers }], { spanGaps: true });
  chart('chart-matching', [
    { label: 'matched', data: rate(s.outcomes.matched), colour: '#2e7d32' },
    { label: 'expired', data: rate(s.outcomes.expired), colour: '#c62828' },
    { label: 'cancelled', data: rate(s.outcomes.cancelled), colour: '#e8890c' },
    { label: 'completed', data: rate(s.outcomes.completed), colour: '#1f5fbf' }
  ]);
  Array.prototype.forEach.call(document.querySelectorAll('[data-latency]'), function (element) {
    var kind = element.getAttribute('data-latency');
    var latency = s.latencyMs[kind];
    chart(element.id, [
      { label: 'p50', data: positive(latency.p50), colour: '#1f5fbf' },
      { label: 'p90', data: positive(latency.p90), colour: '#e8890c' },
      { label: 'p99', data: positive(latency.p99), colour: '#c62828' }
    ], { log: true });
  });
  chart('chart-time-to-match', [
    { label: 'p50', data: s.timeToMatchSeconds.p50, colour: '#1f5fbf' },
    { label: 'p95', data: s.timeToMatchSeconds.p95, colour: '#c62828' }
  ]);
  var shedClasses = Object.keys(s.shed).filter(function (kind) {
    return s.shed[kind].some(function (v) { return v > 0; });
  });
  chart('chart-shed', shedClasses.length > 0
    ? shedClasses.map(function (kind) { return { label: kind, data: rate(s.shed[kind]) }; })
    : [{ label: 'all classes', data: rate(s.responses.shed) }]);
  chart('chart-errors', [
    { label: '4xx', data: rate(s.responses.clientError), colour: '#e8890c' },
    { label: '5xx', data: rate(s.responses.serverError), colour: '#c62828' },
    { label: 'no answer', data: rate(s.responses.network), colour: '#6a1b9a' }
  ]);
  chart('chart-surge', [{ label: 'highest surge', data: s.surge, colour: '#6a1b9a' }], { spanGaps: true });

  var pending = 0;
  window.addEventListener('resize', function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () {
      charts.forEach(function (c) { c.u.setSize({ width: Math.max(c.element.clientWidth, 280), height: 230 }); });
    });
  });
})();
`;

const chartCard = (id: string, title: string, unit: string, extra = '') =>
  `<div class="chart"><h3>${escapeHtml(title)}</h3><div class="unit">${escapeHtml(unit)}</div><div id="${id}"${extra}></div></div>`;

/** The classes that get a latency chart: the three the objectives and riders feel most, then any other used. */
const latencyClasses = (report: Report) => {
  const always = ['booking', 'quote', 'location'] as const;
  return [
    ...always,
    ...requestClasses.filter(
      (kind) => !(always as readonly string[]).includes(kind) && report.requests[kind].sent > 0,
    ),
  ];
};

export const renderReportHtml = (report: Report): string => {
  const assets = uplotAssets();
  const { verdict, bookings } = report;
  const passed = verdict.invariantsHeld && verdict.sloMet;
  const title = `${report.scenario} · seed ${report.seed} · ${passed ? 'PASS' : 'FAIL'}`;
  const bucket = report.series.bucketSeconds;

  const facts: Array<[string, string]> = [
    ['target', report.embedded ? `${report.target} (embedded)` : report.target],
    ['seed', String(report.seed)],
    ['city', report.city],
    ['starts at', report.startsAt],
    ['simulated', duration(report.durationSeconds)],
    ['wall', duration(report.wallSeconds)],
    ['speed', `${report.achievedSpeed.toFixed(1)}× (asked ${report.speed}×)`],
    ['scale', `${report.scale}×`],
    ['generated', report.generatedAt],
  ];

  const booked = bookings.created;
  const bookingLatency = report.latencyMs.booking;
  const serverErrors = requestClasses.reduce(
    (sum, kind) => sum + report.requests[kind].serverError + report.requests[kind].network,
    0,
  );
  const cards: Array<[string, string, string]> = [
    ['rides requested', integer(bookings.requested), `${integer(bookings.walkedAway)} walked away`],
    ['booked', integer(booked), `${integer(bookings.failed)} failed`],
    [
      'matched',
      integer(bookings.matched),
      booked > 0 ? `${percent(bookings.matched / booked)} of booked` : '–',
    ],
    ['expired', integer(bookings.expired), `${integer(bookings.cancelled)} cancelled`],
    [
      'booking p99',
      `${ms(bookingLatency.p99)} ms`,
      `p50 ${ms(bookingLatency.p50)} ms · max ${ms(bookingLatency.max)} ms`,
    ],
    [
      'time to match p95',
      report.timeToMatchSeconds.p95 === null ? '–' : `${report.timeToMatchSeconds.p95.toFixed(1)} s`,
      report.timeToMatchSeconds.p50 === null ? '–' : `p50 ${report.timeToMatchSeconds.p50.toFixed(1)} s`,
    ],
    ['shed', percent(report.shed.share, 2), `${integer(report.shed.count)} requests`],
    ['server errors', integer(serverErrors), '5xx and no answer'],
  ];

  const sloSection =
    report.slo.length === 0
      ? '<p class="empty">Not evaluated: the target\'s /metrics could not be read at the start and the end of the run.</p>'
      : `<table><thead>${row(['Objective', 'Target', 'Value', 'Events', 'Bad', 'Budget spent', 'Verdict'], true)}</thead><tbody>${report.slo
          .map((slo) => {
            const spent = slo.budgetSpent;
            const bar =
              spent === null
                ? ''
                : `<span class="bar"><i class="${spent > 1 ? 'over' : ''}" style="width:${Math.min(spent, 1) * 100}%"></i></span>`;
            const notes = slo.notes.map((note) => `<div class="notes">${escapeHtml(note)}</div>`).join('');
            return row([
              `${escapeHtml(slo.name)}<div class="notes">${escapeHtml(slo.description)}</div>${notes}`,
              `${Number((slo.target * 100).toPrecision(6))}%`,
              percent(slo.value, 3),
              integer(slo.events),
              integer(slo.bad),
              `${spent === null ? '–' : percent(spent, 0)}${bar}`,
              pill(slo.met, 'met', 'missed'),
            ]);
          })
          .join('')}</tbody></table>`;

  const { lostBookings, doubleAssignments, stuckRides } = report.invariants;
  const invariantRows: Array<[string, string, number, string[]]> = [
    [
      'Lost bookings',
      'a booking answered 2xx that the API no longer knows',
      lostBookings.count,
      lostBookings.first,
    ],
    [
      'Double assignments',
      'a driver holding two active rides at once',
      doubleAssignments.count,
      doubleAssignments.first.map((d) => `driver ${d.driverId}: ${d.rideIds.join(', ')}`),
    ],
    [
      'Stuck rides',
      'searching past its window, or an offer pending past its timeout',
      stuckRides.count,
      stuckRides.first.map((r) => `${r.rideId} (${r.status}): ${r.reason}`),
    ],
  ];
  const invariantTable = `<table><thead>${'<tr><th>Invariant</th><th>Count</th><th class="list">First found</th><th>Verdict</th></tr>'}</thead><tbody>${invariantRows
    .map(
      ([name, meaning, count, first]) =>
        `<tr><th scope="row">${name}<div class="notes">${escapeHtml(meaning)}</div></th><td>${integer(count)}</td>` +
        `<td class="list">${first.length > 0 ? first.map((item) => `<code>${escapeHtml(item)}</code>`).join('<br>') : '–'}</td>` +
        `<td>${pill(count === 0, 'held', 'broken')}</td></tr>`,
    )
    .join('')}</tbody></table>`;

  const used = requestClasses.filter((kind) => report.requests[kind].sent > 0);
  const requestTable =
    used.length === 0
      ? '<p class="empty">No requests were sent.</p>'
      : `<table><thead>${row(['Class', 'Sent', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'Shed', '4xx', '5xx', 'No answer'], true)}</thead><tbody>${used
          .map((kind) => {
            const counts = report.requests[kind];
            const latency = report.latencyMs[kind];
            return row([
              kind,
              integer(counts.sent),
              ms(latency.p50),
              ms(latency.p90),
              ms(latency.p99),
              ms(latency.max),
              `${integer(counts.shed)} (${percent(report.shed.byClass[kind].share)})`,
              integer(counts.clientError),
              integer(counts.serverError),
              integer(counts.network),
            ]);
          })
          .join('')}</tbody></table>`;

  const errors = Object.entries(report.errors);
  const errorTable =
    errors.length === 0
      ? '<p class="empty">Every answer was a success or a shed request.</p>'
      : `<table><thead>${row(['Status', 'Meaning', 'Count'], true)}</thead><tbody>${errors
          .map(
            ([status, count]) =>
              `<tr><th scope="row">${escapeHtml(status)}</th><td class="text">${escapeHtml(statusMeaning[status] ?? '')}</td><td>${integer(count)}</td></tr>`,
          )
          .join('')}</tbody></table>`;

  const perBucket = `per minute, averaged over ${bucket} s buckets of simulated time`;
  const charts = [
    chartCard('chart-demand', 'Demand', `rides ${perBucket}`),
    chartCard('chart-drivers', 'Drivers online', 'last sample in each bucket'),
    chartCard('chart-matching', 'Matching', `rides ${perBucket}`),
    chartCard('chart-time-to-match', 'Time to match', 'seconds, per bucket'),
    ...latencyClasses(report).map((kind) =>
      chartCard(
        `chart-latency-${kind}`,
        `Latency: ${kind}`,
        'milliseconds (log scale), from the scheduled send time',
        ` data-latency="${kind}"`,
      ),
    ),
    chartCard('chart-shed', 'Shed responses', `503 SERVICE.OVERLOADED ${perBucket}`),
    chartCard('chart-errors', 'Errors', `answers ${perBucket}`),
    chartCard('chart-surge', 'Surge', 'highest surge multiplier quoted in each bucket'),
  ].join('\n');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>peakride sim · ${escapeHtml(title)}</title>
<style>${assets.style}</style>
<style>${css}</style>
</head>
<body>
<header>
<h1><span><span class="kind">peakride sim ·</span> ${escapeHtml(report.scenario)}</span><span class="badge ${passed ? 'good' : 'bad'}">${passed ? 'PASS' : 'FAIL'}</span>
${pill(verdict.invariantsHeld, 'invariants held', 'invariants broken')}
${verdict.sloEvaluated ? pill(verdict.sloMet, 'SLOs met', 'SLOs missed') : '<span class="pill bad">SLOs not evaluated</span>'}</h1>
<p>${escapeHtml(report.description)}</p>
<dl class="facts">${facts.map(([name, value]) => `<div><dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd></div>`).join('')}</dl>
</header>
<main>
<section class="cards">${cards
    .map(
      ([label, value, detail]) =>
        `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value">${escapeHtml(value)}</div><div class="detail">${escapeHtml(detail)}</div></div>`,
    )
    .join('')}</section>
<h2>Service level objectives</h2>
${sloSection}
<h2>Invariants</h2>
${invariantTable}
<h2>Over time</h2>
<div class="charts">
${charts}
</div>
<h2>Requests</h2>
${requestTable}
<h2>Errors by status</h2>
${errorTable}
<footer>Latency counts from the time each request was scheduled to leave (open model), so a stalled server shows in it. Shed requests are not in the latency figures. ${report.lateSamples > 0 ? `${integer(report.lateSamples)} samples came too late for the charts' percentiles.` : ''} Charts: uPlot (MIT).</footer>
</main>
<script type="application/json" id="report-data">${jsonForScript(report)}</script>
<script>${assets.script}</script>
<script>${chartScript}</script>
</body>
</html>
`;
};
