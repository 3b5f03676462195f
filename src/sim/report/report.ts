import { type RequestClass, type RunFacts, requestClasses } from '../types.js';
import type { LatencySummary, ResponseCounts, RunRecorder, Series, TimeToMatchSummary } from './recorder.js';
import type { SloVerdict } from './slo.js';

/**
 * The report of a run: one JSON document (report.json, for machines and for comparing runs),
 * the same data as a self-contained page (report.html) and a terminal summary.
 */

/** How many offending ids or records an invariant lists; the count says how many there are. */
const FIRST = 5;

export interface InvariantFinding<T> {
  count: number;
  /** The first few, for a person to look up. */
  first: T[];
}

export interface Report {
  /** Changes when a field changes meaning. */
  version: 1;
  scenario: string;
  description: string;
  city: string;
  /** The scenario's local time of day at its start, HH:MM. */
  startsAt: string;
  seed: number;
  /** Simulated seconds the run covered. */
  durationSeconds: number;
  wallSeconds: number;
  /**
   * Wall seconds after the scenario's end spent waiting for the rides booked before it to get a
   * driver, expire or be cancelled (no rider arrives meanwhile; drivers carry on).
   */
  settleSeconds: number;
  /**
   * The simulator's WebSockets: at most `budget` at once (its open files; null: no limit known),
   * the most that were open, and how many agents polled instead because the budget was spent.
   */
  webSockets: { budget: number | null; peakOpen: number; overBudget: number };
  /** Simulated seconds per wall second asked for. */
  speed: number;
  /** Simulated seconds per wall second the run kept (below `speed` when the driver fell behind). */
  achievedSpeed: number;
  /**
   * CPU the simulator itself used while the scenario ran, in seconds and in cores (1 = one core
   * busy the whole time): near 1, the simulator, not the target, limited the run.
   */
  simulatorCpu: { seconds: number; cores: number };
  scale: number;
  target: string;
  embedded: boolean;
  generatedAt: string;
  bookings: {
    requested: number;
    walkedAway: number;
    created: number;
    matched: number;
    expired: number;
    cancelled: number;
    completed: number;
    failed: number;
  };
  requests: Record<RequestClass, ResponseCounts>;
  /** Of the requests that were not shed; errors and requests with no answer included. */
  latencyMs: Record<RequestClass, LatencySummary>;
  timeToMatchSeconds: TimeToMatchSummary;
  /** Refused by load shedding: count and share of the requests sent. */
  shed: { count: number; share: number; byClass: Record<RequestClass, { count: number; share: number }> };
  /** Answers that were neither a success nor shed, by status; "0" is no answer (network, timeout). */
  errors: Record<string, number>;
  /** Per objective of the SLO file; empty when the target's /metrics could not be scraped. */
  slo: SloVerdict[];
  invariants: {
    lostBookings: InvariantFinding<string>;
    doubleAssignments: InvariantFinding<{ driverId: string; rideIds: string[] }>;
    stuckRides: InvariantFinding<{ rideId: string; status: string; reason: string }>;
  };
  verdict: {
    invariantsHeld: boolean;
    /** Every objective met; true when none could be evaluated (see `sloEvaluated`). */
    sloMet: boolean;
    sloEvaluated: boolean;
  };
  /** Samples left out of the per-bucket percentiles because they came too late (should be 0). */
  lateSamples: number;
  series: Series;
}

const finding = <T>(items: T[]): InvariantFinding<T> => ({
  count: items.length,
  first: items.slice(0, FIRST),
});
const shareOf = (part: number, whole: number) => (whole > 0 ? part / whole : 0);

export const buildReport = (recorder: RunRecorder, facts: RunFacts, slo: SloVerdict[]): Report => {
  const run = recorder.summary(facts.simulatedSeconds);
  const { outcomes } = run;
  let sent = 0;
  let shed = 0;
  for (const kind of requestClasses) {
    sent += run.requests[kind].sent;
    shed += run.requests[kind].shed;
  }
  const { lostBookings, doubleAssignments, stuckRides } = facts.invariants;
  return {
    version: 1,
    scenario: facts.scenario.name,
    description: facts.scenario.description,
    city: facts.scenario.city,
    startsAt: facts.scenario.startsAt,
    seed: facts.seed,
    durationSeconds: facts.simulatedSeconds,
    wallSeconds: facts.wallSeconds,
    settleSeconds: facts.settleSeconds,
    webSockets: facts.webSockets,
    speed: facts.speed,
    achievedSpeed: facts.wallSeconds > 0 ? facts.simulatedSeconds / facts.wallSeconds : 0,
    simulatorCpu: {
      seconds: facts.simulatorCpuSeconds,
      cores: facts.wallSeconds > 0 ? facts.simulatorCpuSeconds / facts.wallSeconds : 0,
    },
    scale: facts.scale,
    target: facts.target,
    embedded: facts.embedded,
    generatedAt: new Date().toISOString(),
    bookings: {
      requested: outcomes.requested,
      walkedAway: outcomes.walkedAway,
      created: outcomes.created,
      matched: outcomes.matched,
      expired: outcomes.expired,
      cancelled: outcomes.cancelled,
      completed: outcomes.completed,
      failed: outcomes.failed,
    },
    requests: run.requests,
    latencyMs: run.latencyMs,
    timeToMatchSeconds: run.timeToMatchSeconds,
    shed: {
      count: shed,
      share: shareOf(shed, sent),
      byClass: Object.fromEntries(
        requestClasses.map((kind) => {
          const counts = run.requests[kind];
          return [kind, { count: counts.shed, share: shareOf(counts.shed, counts.sent) }];
        }),
      ) as Record<RequestClass, { count: number; share: number }>,
    },
    errors: run.errorsByStatus,
    slo,
    invariants: {
      lostBookings: finding(lostBookings),
      doubleAssignments: finding(doubleAssignments),
      stuckRides: finding(stuckRides),
    },
    verdict: {
      invariantsHeld: lostBookings.length === 0 && doubleAssignments.length === 0 && stuckRides.length === 0,
      sloMet: slo.every((verdict) => verdict.met),
      sloEvaluated: slo.length > 0,
    },
    lateSamples: run.lateSamples,
    series: run.series,
  };
};

// The terminal summary.

const WIDTH = 99;
const integer = (value: number) => Math.round(value).toLocaleString('en-US');
const milliseconds = (value: number | null) =>
  value === null ? '–' : value >= 100 ? integer(value) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
const percent = (share: number | null, digits = 1) =>
  share === null ? '–' : `${(share * 100).toFixed(digits)}%`;
const targetPercent = (target: number) => `${Number((target * 100).toPrecision(6))}%`;
/** HH:MM:SS (or MM:SS) of a number of seconds. */
const clock = (seconds: number) => {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
};
const table = (header: string[], rows: string[][], leftColumns = 1) => {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column < leftColumns ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
};
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the colour codes is the point.
const ansi = /\x1b\[[0-9;]*m/g;
const visible = (text: string) => text.replace(ansi, '').length;
/** Breaks plain text at spaces to the width; continuation lines start with `indent`. */
const wrap = (text: string, indent: string): string[] => {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent + word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
};
/** Cut to the width; a line too long loses its colours with its tail. */
const clip = (line: string) => {
  if (visible(line) <= WIDTH) return line;
  const plain = line.replace(ansi, '');
  return `${plain.slice(0, WIDTH - 1)}…`;
};

const paint = (on: boolean) => ({
  good: (text: string) => (on ? `\x1b[32m${text}\x1b[0m` : text),
  bad: (text: string) => (on ? `\x1b[31m${text}\x1b[0m` : text),
  bold: (text: string) => (on ? `\x1b[1m${text}\x1b[0m` : text),
});

/**
 * A plain-text summary for the terminal, under 100 columns. Colour only when asked (`color`:
 * the caller knows whether its stream is a terminal); the words carry the meaning without it.
 */
export const formatSummary = (report: Report, options: { color?: boolean } = {}): string => {
  const colour = paint(options.color === true);
  const { verdict, bookings } = report;
  const passed = verdict.invariantsHeld && verdict.sloMet;
  const metCount = report.slo.filter((slo) => slo.met).length;
  const lines: string[] = [];
  const plain: string[] = [];
  plain.push(
    `peakride sim: ${report.scenario} · seed ${report.seed} · scale ${report.scale} · ${report.embedded ? 'embedded platform' : report.target}`,
    `${clock(report.durationSeconds)} simulated from ${report.startsAt} in ${clock(report.wallSeconds)} wall ` +
      `(${report.achievedSpeed.toFixed(1)}× real time, asked ${report.speed}×); ` +
      `the simulator used ${report.simulatorCpu.cores.toFixed(2)} of a core; ` +
      `then ${clock(report.settleSeconds)} wall until every booked ride had a driver or an end`,
    ...(report.webSockets.overBudget > 0
      ? [
          `${report.webSockets.overBudget} agents polled instead of holding a WebSocket: the simulator's ` +
            `open files allow ${report.webSockets.budget} at once`,
        ]
      : []),
    '',
  );
  lines.push(...plain);
  const verdictWords = [
    verdict.invariantsHeld ? 'invariants held' : 'INVARIANTS BROKEN',
    !verdict.sloEvaluated
      ? 'SLOs not evaluated (no /metrics)'
      : verdict.sloMet
        ? `SLOs met (${metCount}/${report.slo.length})`
        : `SLOs MISSED (${metCount}/${report.slo.length} met)`,
  ].join(' · ');
  lines.push(
    `${colour.bold('Verdict')}  ${passed ? colour.good('PASS') : colour.bad('FAIL')}  ${verdictWords}`,
    '',
  );

  lines.push(
    ...table(
      [
        'Rides',
        'requested',
        'walked away',
        'booked',
        'matched',
        'expired',
        'cancelled',
        'completed',
        'failed',
      ],
      [
        [
          '',
          integer(bookings.requested),
          integer(bookings.walkedAway),
          integer(bookings.created),
          integer(bookings.matched),
          integer(bookings.expired),
          integer(bookings.cancelled),
          integer(bookings.completed),
          integer(bookings.failed),
        ],
      ],
    ),
  );
  const ttm = report.timeToMatchSeconds;
  lines.push(
    `Time to match  p50 ${ttm.p50 === null ? '–' : `${ttm.p50.toFixed(1)} s`}  p95 ${ttm.p95 === null ? '–' : `${ttm.p95.toFixed(1)} s`}  (${integer(ttm.count)} matches)`,
    '',
  );

  const classes = requestClasses.filter((kind) => report.requests[kind].sent > 0);
  lines.push(
    ...table(
      ['Requests', 'sent', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'shed', '4xx', '5xx', 'no answer'],
      classes.map((kind) => {
        const counts = report.requests[kind];
        const latency = report.latencyMs[kind];
        return [
          kind,
          integer(counts.sent),
          milliseconds(latency.p50),
          milliseconds(latency.p90),
          milliseconds(latency.p99),
          milliseconds(latency.max),
          counts.shed > 0 ? `${integer(counts.shed)} (${percent(report.shed.byClass[kind].share)})` : '0',
          integer(counts.clientError),
          integer(counts.serverError),
          integer(counts.network),
        ];
      }),
    ),
  );
  if (classes.length === 0) lines.push('  (no requests were sent)');
  const errors = Object.entries(report.errors);
  if (errors.length > 0)
    lines.push(
      ...wrap(
        `Errors by status  ${errors.map(([status, n]) => `${status === '0' ? 'no answer' : status} ×${integer(n)}`).join(' · ')}`,
        '  ',
      ),
    );
  lines.push('');

  if (report.slo.length > 0) {
    const rows = report.slo.map((slo) => [
      slo.name,
      targetPercent(slo.target),
      percent(slo.value, 3),
      slo.budgetSpent === null ? '–' : percent(slo.budgetSpent, 0),
      integer(slo.events),
      integer(slo.bad),
      slo.met ? colour.good('met') : colour.bad('MISSED'),
    ]);
    lines.push(...table(['Objective', 'target', 'value', 'budget spent', 'events', 'bad', ''], rows));
    for (const slo of report.slo)
      for (const note of slo.notes) lines.push(...wrap(`  ${slo.name}: ${note}`, '    '));
    lines.push('');
  }

  const { lostBookings, doubleAssignments, stuckRides } = report.invariants;
  lines.push(
    `Invariants  lost bookings ${lostBookings.count} · double assignments ${doubleAssignments.count} · stuck rides ${stuckRides.count}`,
  );
  if (lostBookings.count > 0) lines.push(`  lost: ${lostBookings.first.join(', ')}`);
  for (const double of doubleAssignments.first)
    lines.push(`  driver ${double.driverId} held ${double.rideIds.join(', ')}`);
  for (const stuck of stuckRides.first)
    lines.push(`  stuck: ${stuck.rideId} (${stuck.status}) ${stuck.reason}`);
  if (report.lateSamples > 0)
    lines.push(`Note: ${integer(report.lateSamples)} samples came too late for the charts' percentiles.`);
  return lines.map(clip).join('\n');
};
