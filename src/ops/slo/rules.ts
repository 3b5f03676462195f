import { errorBudget, type Objective, type Objectives } from './objectives.js';

/**
 * Prometheus rules for the objectives, in the form of the Google SRE workbook
 * ("Alerting on SLOs", multiwindow, multi-burn-rate): error ratios recorded over a few windows,
 * and per objective one page and one ticket alert. Nothing per route or per pod: few alerts,
 * each a budget that is really burning.
 */

/** Windows the error ratio is recorded over: the alerts' short and long windows. */
export const ratioWindows = ['5m', '30m', '1h', '6h', '3d'] as const;

/**
 * Burn rate = error ratio / error budget; 1 spends the budget exactly over the SLO window.
 * Page: 2% of a 30-day budget in 1 hour (14.4) or 5% in 6 hours (6); ticket: 10% in 3 days (1).
 * The short window (a twelfth of the long one) makes the alert stop soon after the burn does.
 */
export const burnAlerts = {
  page: [
    { long: '1h', short: '5m', factor: 14.4 },
    { long: '6h', short: '30m', factor: 6 },
  ],
  ticket: [{ long: '3d', short: '6h', factor: 1 }],
} as const;

/** Recording rule names; the dashboard and the simulator read these. */
export const ruleNames = {
  errorRatio: (window: string) => `slo:sli_error:ratio_rate${window}`,
  objective: 'slo:objective:ratio',
  budgetRemaining: 'slo:error_budget_remaining:ratio',
} as const;

/** How long a condition must hold before the alert fires: a one-evaluation blip does not page. */
const alertFor = { page: '2m', ticket: '30m' } as const;
/** The SLO-window ratio reads weeks of samples: computed less often than the short ones. */
const budgetInterval = '2m30s';

export const percent = (ratio: number) => `${Number((ratio * 100).toPrecision(12))}%`;

/** `BookingAvailability` from `booking-availability`. */
export const camelName = (name: string) =>
  name
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

/** The rate of a sum of counters; a selector with no series yet counts 0 rather than blanking the sum. */
const summedRate = (selectors: string[], window: string) => {
  const terms = selectors.map((selector) => `(sum(rate(${selector}[${window}])) or vector(0))`);
  return terms.length === 1 ? terms[0]! : `(${terms.join(' + ')})`;
};

/** Bad events over all events in `window`; NaN when there were no events (no alert, no budget spent). */
export const errorRatioExpr = (objective: Objective, window: string) => {
  const { good, errors, total } = objective.sli;
  const totalRate = summedRate(total, window);
  const badRate = errors ? summedRate(errors, window) : `(${totalRate} - ${summedRate(good ?? [], window)})`;
  return `${badRate}\n/\n${totalRate}`;
};

interface RecordingRule {
  record: string;
  expr: string;
  labels: Record<string, string>;
}
interface AlertingRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface RuleGroup {
  name: string;
  interval?: string;
  rules: (RecordingRule | AlertingRule)[];
}

const ratioSeries = (objective: Objective, window: string) =>
  `${ruleNames.errorRatio(window)}{slo="${objective.name}"}`;

const burnCondition = (objective: Objective, window: string, factor: number) =>
  `${ratioSeries(objective, window)} / ${errorBudget(objective.target)} > ${factor}`;

const alertExpr = (objective: Objective, pairs: readonly { long: string; short: string; factor: number }[]) =>
  pairs
    .map(
      ({ long, short, factor }) =>
        `(\n  ${burnCondition(objective, long, factor)}\nand\n  ${burnCondition(objective, short, factor)}\n)`,
    )
    .join('\nor\n');

const alerts = (objective: Objective, runbooks: string): AlertingRule[] => {
  const goal = `${percent(objective.target)} over ${objective.window}`;
  const labels = (severity: string) => ({ severity, slo: objective.name });
  const runbookUrl = `${runbooks}#${objective.name}`;
  return [
    {
      alert: `${camelName(objective.name)}FastBurn`,
      expr: alertExpr(objective, burnAlerts.page),
      for: alertFor.page,
      labels: labels('page'),
      annotations: {
        summary: `${objective.name} is burning its error budget fast`,
        description:
          `${objective.description} Objective: ${goal}. Over the last hour (or six hours) the error ` +
          `budget is being spent {{ printf "%.1f" $value }} times as fast as the objective allows ` +
          `(page at 14.4 over 1h, 6 over 6h): at 14.4 the whole budget is gone in ` +
          `${Math.round((objective.windowDays * 24) / 14.4)} hours.`,
        runbook_url: runbookUrl,
      },
    },
    {
      alert: `${camelName(objective.name)}SlowBurn`,
      expr: alertExpr(objective, burnAlerts.ticket),
      for: alertFor.ticket,
      labels: labels('ticket'),
      annotations: {
        summary: `${objective.name} is spending its error budget faster than it lasts`,
        description:
          `${objective.description} Objective: ${goal}. Over the last three days the error budget ` +
          `has been spent {{ printf "%.2f" $value }} times as fast as the objective allows: ` +
          `kept up, the objective is missed before the ${objective.window} window ends.`,
        runbook_url: runbookUrl,
      },
    },
  ];
};

/** The rule file's groups: one recording group per objective, one for the budget, one of alerts. */
export const ruleGroups = ({ objectives, runbooks }: Objectives): RuleGroup[] => [
  ...objectives.map(
    (objective): RuleGroup => ({
      name: `peakride-slo-${objective.name}`,
      rules: ratioWindows.map((window) => ({
        record: ruleNames.errorRatio(window),
        expr: errorRatioExpr(objective, window),
        labels: { slo: objective.name },
      })),
    }),
  ),
  {
    name: 'peakride-slo-budget',
    interval: budgetInterval,
    rules: objectives.flatMap((objective): RecordingRule[] => [
      {
        record: ruleNames.errorRatio(objective.window),
        expr: errorRatioExpr(objective, objective.window),
        labels: { slo: objective.name },
      },
      { record: ruleNames.objective, expr: `vector(${objective.target})`, labels: { slo: objective.name } },
      {
        record: ruleNames.budgetRemaining,
        expr: `1 - ${ratioSeries(objective, objective.window)} / ${errorBudget(objective.target)}`,
        labels: { slo: objective.name },
      },
    ]),
  },
  {
    name: 'peakride-slo-alerts',
    rules: objectives.flatMap((objective) => alerts(objective, runbooks)),
  },
];
