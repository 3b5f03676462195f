import { errorBudget, type Objectives } from './objectives.js';
import { burnAlerts, percent, ruleNames } from './rules.js';

/**
 * The Grafana dashboard: the SLOs and their budgets first (is it bad?), then RED per route,
 * the pods' event loops and the business signals (where, and why?). Bottlenecks are found here,
 * not through alerts. Prometheus is picked through the `datasource` variable, so the same JSON
 * imports into any Grafana.
 */

// A Grafana variable reference, not a JavaScript template.
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana substitutes it when the dashboard loads
const datasource = { type: 'prometheus', uid: '${datasource}' } as const;
const width = 24;

interface Query {
  expr: string;
  legend: string;
}

interface PanelOptions {
  unit?: string;
  min?: number;
  max?: number;
  /** Horizontal lines drawn on a time series (burn-rate thresholds, objectives). */
  lines?: { value: number; color: string }[];
  /** Stat panels: red below the first step, green above the last. */
  steps?: { value: number | null; color: string }[];
  stacked?: boolean;
}

type Panel = Record<string, unknown>;

/** Lays panels out left to right, wrapping rows, and numbers them in order: the same file every run. */
const createLayout = () => {
  const panels: Panel[] = [];
  let nextId = 1;
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const place = (w: number, h: number) => {
    if (x + w > width) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { h, w, x, y };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return gridPos;
  };
  const row = (title: string) => {
    if (x > 0) {
      y += rowHeight;
      x = 0;
      rowHeight = 0;
    }
    panels.push({
      collapsed: false,
      gridPos: { h: 1, w: width, x: 0, y },
      id: nextId++,
      panels: [],
      title,
      type: 'row',
    });
    y += 1;
  };
  const panel = (
    type: 'timeseries' | 'stat',
    title: string,
    description: string,
    queries: Query[],
    size: { w: number; h: number },
    options: PanelOptions = {},
  ) => {
    const thresholds =
      options.steps ??
      (options.lines
        ? [{ value: null, color: 'transparent' }, ...options.lines]
        : [{ value: null, color: 'green' }]);
    panels.push({
      datasource,
      description,
      fieldConfig: {
        defaults: {
          ...(type === 'timeseries'
            ? {
                custom: {
                  fillOpacity: options.stacked ? 30 : 0,
                  showPoints: 'never',
                  stacking: { group: 'A', mode: options.stacked ? 'normal' : 'none' },
                  thresholdsStyle: { mode: options.lines ? 'line+area' : 'off' },
                },
              }
            : {}),
          ...(options.min === undefined ? {} : { min: options.min }),
          ...(options.max === undefined ? {} : { max: options.max }),
          thresholds: { mode: 'absolute', steps: thresholds },
          unit: options.unit ?? 'short',
        },
        overrides: [],
      },
      gridPos: place(size.w, size.h),
      id: nextId++,
      options:
        type === 'stat'
          ? { colorMode: 'background', graphMode: 'area', reduceOptions: { calcs: ['lastNotNull'] } }
          : {
              legend: { displayMode: 'list', placement: 'bottom' },
              tooltip: { mode: 'multi', sort: 'desc' },
            },
      targets: queries.map((query, index) => ({
        datasource,
        expr: query.expr,
        legendFormat: query.legend,
        refId: String.fromCharCode(65 + index),
      })),
      title,
      type,
    });
  };
  return { panels, row, panel };
};

const rate = (selector: string, by: string) => `sum by (${by}) (rate(${selector}[5m]))`;
const quantile = (q: number, histogram: string, by: string, matchers = '') =>
  `histogram_quantile(${q}, sum by (le, ${by}) (rate(${histogram}_bucket${matchers}[5m])))`;

export const dashboard = ({ objectives }: Objectives, header: string) => {
  const { panels, row, panel } = createLayout();
  const third = { w: 8, h: 8 };
  const half = { w: 12, h: 8 };

  for (const objective of objectives) {
    const slo = `slo="${objective.name}"`;
    const budget = errorBudget(objective.target);
    row(`SLO ${objective.name}: ${percent(objective.target)} over ${objective.window}`);
    panel(
      'stat',
      'Error budget remaining',
      `${objective.description} Share of the ${objective.window} error budget not yet spent; below 0 the objective is missed.`,
      [{ expr: `${ruleNames.budgetRemaining}{${slo}}`, legend: objective.name }],
      { w: 6, h: 8 },
      {
        unit: 'percentunit',
        steps: [
          { value: null, color: 'red' },
          { value: 0, color: 'orange' },
          { value: 0.25, color: 'green' },
        ],
      },
    );
    panel(
      'timeseries',
      'SLI',
      `Share of good events (${objective.description}) against the objective.`,
      [
        { expr: `1 - ${ruleNames.errorRatio('5m')}{${slo}}`, legend: 'over 5m' },
        { expr: `1 - ${ruleNames.errorRatio('1h')}{${slo}}`, legend: 'over 1h' },
        { expr: `${ruleNames.objective}{${slo}}`, legend: 'objective' },
      ],
      { w: 9, h: 8 },
      { unit: 'percentunit', max: 1 },
    );
    panel(
      'timeseries',
      'Burn rate',
      'Error ratio over the error budget: 1 spends the budget exactly over the window. ' +
        'The page alert needs 14.4 over 1h and 5m, or 6 over 6h and 30m; the ticket 1 over 3d and 6h.',
      ['5m', '1h', '6h', '3d'].map((window) => ({
        expr: `${ruleNames.errorRatio(window)}{${slo}} / ${budget}`,
        legend: `over ${window}`,
      })),
      { w: 9, h: 8 },
      {
        min: 0,
        lines: [
          ...burnAlerts.ticket.map(({ factor }) => ({ value: factor, color: 'yellow' })),
          { value: burnAlerts.page[1].factor, color: 'orange' },
          { value: burnAlerts.page[0].factor, color: 'red' },
        ],
      },
    );
  }

  row('Requests: rate, errors, duration (per route)');
  panel(
    'timeseries',
    'Requests per second',
    'Answered requests by route template.',
    [{ expr: rate('http_requests_total', 'method, route'), legend: '{{method}} {{route}}' }],
    third,
    { unit: 'reqps', min: 0 },
  );
  panel(
    'timeseries',
    'Server errors (5xx share)',
    '5xx answers over all answers, by route; 503 includes shed requests.',
    [
      {
        expr: `${rate('http_requests_total{status=~"5.."}', 'method, route')} / ${rate('http_requests_total', 'method, route')}`,
        legend: '{{method}} {{route}}',
      },
    ],
    third,
    { unit: 'percentunit', min: 0 },
  );
  panel(
    'timeseries',
    'Duration p99',
    'Slowest 1% of answers, by route.',
    [
      {
        expr: quantile(0.99, 'http_request_duration_seconds', 'method, route'),
        legend: '{{method}} {{route}}',
      },
    ],
    third,
    { unit: 's', min: 0, lines: [{ value: 0.3, color: 'red' }] },
  );
  panel(
    'timeseries',
    'Duration p50',
    'Median answer time, by route.',
    [
      {
        expr: quantile(0.5, 'http_request_duration_seconds', 'method, route'),
        legend: '{{method}} {{route}}',
      },
    ],
    half,
    { unit: 's', min: 0 },
  );
  panel(
    'timeseries',
    'Shed requests',
    'Requests refused with 503 because the event loop lagged, by priority class and route: ' +
      'the critical class should stay at zero.',
    [{ expr: rate('peakride_requests_shed_total', 'class, route'), legend: '{{class}} {{route}}' }],
    half,
    { unit: 'reqps', min: 0, stacked: true },
  );

  row('Pods: event loop and resources');
  panel(
    'timeseries',
    'Event-loop utilisation',
    'Share of time the event loop was busy, per pod; near 1 the pod is saturated and starts shedding.',
    [{ expr: 'max by (instance) (peakride_event_loop_utilization)', legend: '{{instance}}' }],
    { w: 6, h: 8 },
    { unit: 'percentunit', min: 0, max: 1, lines: [{ value: 0.9, color: 'red' }] },
  );
  panel(
    'timeseries',
    'Event-loop lag p99',
    'Delay of timers on the event loop, per pod.',
    [{ expr: 'max by (instance) (nodejs_eventloop_lag_p99_seconds)', legend: '{{instance}}' }],
    { w: 6, h: 8 },
    { unit: 's', min: 0 },
  );
  panel(
    'timeseries',
    'CPU',
    'CPU seconds per second, per pod.',
    [{ expr: 'sum by (instance) (rate(process_cpu_seconds_total[5m]))', legend: '{{instance}}' }],
    { w: 6, h: 8 },
    { unit: 'short', min: 0 },
  );
  panel(
    'timeseries',
    'Heap used',
    'V8 heap in use, per pod.',
    [{ expr: 'sum by (instance) (nodejs_heap_size_used_bytes)', legend: '{{instance}}' }],
    { w: 6, h: 8 },
    { unit: 'bytes', min: 0 },
  );

  row('Business: rides, offers, supply and demand');
  panel(
    'timeseries',
    'Rides per second',
    'Rides requested, matched, expired unmatched, cancelled and completed, by city.',
    [
      { expr: rate('peakride_rides_requested_total', 'city'), legend: '{{city}} requested' },
      { expr: rate('peakride_rides_matched_total', 'city'), legend: '{{city}} matched' },
      { expr: rate('peakride_rides_expired_total', 'city'), legend: '{{city}} expired' },
      { expr: rate('peakride_rides_cancelled_total', 'city, by'), legend: '{{city}} cancelled by {{by}}' },
      { expr: rate('peakride_rides_completed_total', 'city'), legend: '{{city}} completed' },
    ],
    half,
    { unit: 'reqps', min: 0 },
  );
  panel(
    'timeseries',
    'Time to match',
    'From booking to a driver accepting, by city.',
    [
      { expr: quantile(0.5, 'peakride_time_to_match_seconds', 'city'), legend: '{{city}} p50' },
      { expr: quantile(0.95, 'peakride_time_to_match_seconds', 'city'), legend: '{{city}} p95' },
    ],
    half,
    { unit: 's', min: 0, lines: [{ value: 60, color: 'red' }] },
  );
  panel(
    'timeseries',
    'Offers',
    'Offers sent (at once or by a batch) and how drivers answered them.',
    [
      { expr: rate('peakride_offers_sent_total', 'mode'), legend: 'sent {{mode}}' },
      { expr: rate('peakride_offer_outcomes_total', 'outcome'), legend: '{{outcome}}' },
    ],
    third,
    { unit: 'reqps', min: 0 },
  );
  panel(
    'timeseries',
    'Supply and demand',
    'Drivers available and rides searching for one, by city (every process sees the same: max, not sum).',
    [
      { expr: 'max by (city) (peakride_available_drivers)', legend: '{{city}} available drivers' },
      { expr: 'max by (city) (peakride_open_requests)', legend: '{{city}} open requests' },
    ],
    third,
    { unit: 'short', min: 0 },
  );
  panel(
    'timeseries',
    'Surge (highest multiplier)',
    'The highest surge multiplier of any zone, by city.',
    [{ expr: 'max by (city) (peakride_surge_multiplier_max)', legend: '{{city}}' }],
    third,
    { unit: 'short', min: 1 },
  );
  panel(
    'timeseries',
    'Batch solve time p99',
    'Time to solve one batch assignment (batches run when drivers are short).',
    [
      {
        expr: 'histogram_quantile(0.99, sum by (le) (rate(peakride_dispatch_batch_solve_seconds_bucket[5m])))',
        legend: 'p99',
      },
    ],
    { w: width, h: 6 },
    { unit: 's', min: 0 },
  );

  return {
    annotations: { list: [] },
    description: header,
    editable: true,
    graphTooltip: 1,
    panels,
    refresh: '30s',
    schemaVersion: 39,
    tags: ['peakride', 'slo'],
    templating: {
      list: [
        {
          current: {},
          hide: 0,
          includeAll: false,
          label: 'Data source',
          multi: false,
          name: 'datasource',
          options: [],
          query: 'prometheus',
          refresh: 1,
          regex: '',
          type: 'datasource',
        },
      ],
    },
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: '',
    title: 'peakride',
    uid: 'peakride-overview',
    version: 1,
  };
};
