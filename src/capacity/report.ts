import type { Scenario } from '../sim/types.js';
import { capacityClasses, measuredClasses } from './classes.js';
import type { ClusterRun } from './cluster.js';
import type { HpaSpec, MetricSpec, ScalingRules } from './hpa.js';
import type { ModelParameters } from './parameters.js';
import type { PodCapacity } from './pod-capacity.js';
import type { Recommendation } from './recommend.js';
import type { ServerlessRun } from './serverless.js';
import { allMet, type SloResult } from './slo.js';

/**
 * What `peakride capacity` reports: the inputs, the HPA replay and the serverless replay side by
 * side with their SLO verdicts, the recommendation, and the limits of the model. `--json` prints
 * it whole; the terminal gets a summary and a coarse time table (renderText); the chart is html.ts.
 */

export interface CapacityReport {
  generatedAt: string;
  scenario: {
    name: string;
    description: string;
    city: string;
    startsAt: string;
    durationSeconds: number;
    scale: number;
  };
  inputs: {
    hpaFile: string;
    hpa: HpaSpec;
    hpaNotes: string[];
    podCapacityFile: string;
    podCapacity: {
      measuredAt: string;
      setup: string;
      startupSeconds?: number;
      /** Requests per second one pod takes of each measured class alone at 100% event loop. */
      requestsPerSecondAtFullLoop: Record<(typeof measuredClasses)[number], number>;
      replicaApplyUtilizationPerUpdate: number;
    };
    objectivesFile: string;
    parameters: ModelParameters;
  };
  /** How the scenario's rides and drivers become requests (demand.ts). */
  derivation: string[];
  hpa: { holds: boolean; slo: SloResult[]; totals: ClusterRun['totals']; series: ClusterRun['series'] };
  serverless: {
    holds: boolean;
    slo: SloResult[];
    totals: ServerlessRun['totals'];
    series: ServerlessRun['series'];
  };
  recommendation: Recommendation;
  limits: string[];
}

export const modelLimits = [
  "Demand is a fluid model of the simulator's agents: rates, not individual riders; geography is not placed, so every free driver can take any ride (the match share and the lifecycle calls after it are upper bounds), and riders never walk away for surge unless --book-share says so.",
  'Time to match is not modelled: it depends on drivers and dispatch, not on api pods; `peakride sim` measures it.',
  'A request costs what the benchmark measured on one core of this machine; unmeasured classes are costed as the nearest measured one (docs/capacity.md). Costs are assumed to add up; the mix measured by the benchmark checks it.',
  'The database, Redis, the dispatch and worker roles are assumed to keep up: the model sizes api pods only.',
  'Load balancing is even over ready pods; shedding is its steady state (just enough refused to hold the threshold), not the AIMD oscillation; latency is an M/M/1-style wait calibrated on the measured p99s.',
  'The cluster autoscaler adds nodes for unschedulable pods and removes unneeded ones after 10 min, assuming pods consolidate (no eviction modelled).',
  'Serverless: WebSocket pushes, connection reuse and the database connections of many instances are not modelled; a throttled request counts as an error.',
];

const integer = (value: number) => Math.round(value).toLocaleString('en-US');
const plural = (count: number, noun: string) =>
  `${integer(count)} ${noun}${Math.round(count) === 1 ? '' : 's'}`;
const percent = (share: number | null, digits = 2) =>
  share === null || !Number.isFinite(share) ? '–' : `${(share * 100).toFixed(digits)}%`;
const ms = (value: number) =>
  !Number.isFinite(value) ? 'down' : value >= 100 ? integer(value) : value.toFixed(1);
const clock = (startsAt: string, t: number) => {
  const [h = 0, m = 0] = startsAt.split(':').map(Number);
  const total = (((h * 3600 + m * 60 + t) % 86_400) + 86_400) % 86_400;
  return `${String(Math.floor(total / 3600)).padStart(2, '0')}:${String(Math.floor((total % 3600) / 60)).padStart(2, '0')}`;
};

/** The recommended ceiling, and whether the manifest's had to be raised for it. */
const maxReplicasText = (recommendation: Recommendation) => {
  const chosen = recommendation.candidate?.maxReplicas ?? recommendation.manifestMaxReplicas;
  return chosen > recommendation.manifestMaxReplicas
    ? `maxReplicas ${chosen} (raised from ${recommendation.manifestMaxReplicas}: no setting held within it)`
    : `maxReplicas ${chosen}`;
};

export const describeMetric = (metric: MetricSpec) =>
  metric.type === 'Pods'
    ? `${metric.name} ${metric.target.averageValue}`
    : metric.target.type === 'Utilization'
      ? `cpu ${metric.target.averageUtilization}%`
      : `cpu ${metric.target.averageValue} cores`;

export const describeRules = (rules: ScalingRules) =>
  rules.selectPolicy === 'Disabled'
    ? 'disabled'
    : `${rules.policies
        .map(
          (policy) =>
            `${policy.value}${policy.type === 'Percent' ? '%' : ' pods'} per ${policy.periodSeconds} s`,
        )
        .join(
          rules.selectPolicy === 'Min' ? ' (the lower) or ' : ' or ',
        )}${rules.stabilizationWindowSeconds ? `, window ${rules.stabilizationWindowSeconds} s` : ''}`;

export const describeHpa = (spec: HpaSpec) =>
  `${spec.minReplicas}–${spec.maxReplicas} replicas on ${spec.metrics.map(describeMetric).join(' and ')}; scale-up ${spec.behavior ? describeRules(spec.behavior.scaleUp) : 'legacy (2× or 4 pods per sync)'}; scale-down ${spec.behavior ? describeRules(spec.behavior.scaleDown) : 'legacy (window 300 s)'}`;

export const buildReport = (parts: {
  scenario: Scenario;
  parameters: ModelParameters;
  hpaFile: string;
  hpa: HpaSpec;
  hpaNotes: string[];
  podCapacityFile: string;
  capacity: PodCapacity;
  objectivesFile: string;
  derivation: string[];
  cluster: ClusterRun;
  serverless: ServerlessRun;
  recommendation: Recommendation;
}): CapacityReport => {
  const { scenario, capacity } = parts;
  return {
    generatedAt: new Date().toISOString(),
    scenario: {
      name: scenario.name,
      description: scenario.description,
      city: scenario.city,
      startsAt: scenario.startsAt,
      durationSeconds: scenario.durationSeconds,
      scale: parts.parameters.scale,
    },
    inputs: {
      hpaFile: parts.hpaFile,
      hpa: parts.hpa,
      hpaNotes: parts.hpaNotes,
      podCapacityFile: parts.podCapacityFile,
      podCapacity: {
        measuredAt: capacity.measuredAt,
        setup: capacity.setup,
        ...(capacity.startupSeconds === undefined ? {} : { startupSeconds: capacity.startupSeconds }),
        requestsPerSecondAtFullLoop: Object.fromEntries(
          measuredClasses.map((kind) => [kind, Math.round(1 / capacity.classes[kind].utilizationPerRequest)]),
        ) as Record<(typeof measuredClasses)[number], number>,
        replicaApplyUtilizationPerUpdate: capacity.replicaApplyUtilizationPerUpdate,
      },
      objectivesFile: parts.objectivesFile,
      parameters: parts.parameters,
    },
    derivation: parts.derivation,
    hpa: { holds: allMet(parts.cluster.slo), ...parts.cluster },
    serverless: { holds: allMet(parts.serverless.slo), ...parts.serverless },
    recommendation: parts.recommendation,
    limits: modelLimits,
  };
};

/** Columns padded to their widest cell; the first column left-aligned, the others right. */
const table = (rows: string[][]) => {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
        .join('  '),
    )
    .join('\n');
};

const sloCell = (slo: SloResult) =>
  !slo.modelled
    ? 'not modelled'
    : `${percent(slo.value, 3)} ${slo.met ? 'met' : 'MISSED'} (${percent(slo.budgetSpent, 0)} of budget)`;

/** Time table rows: about 24 of them, the worst of each bucket. */
const timeRows = (report: CapacityReport) => {
  const hpa = report.hpa.series;
  const fn = report.serverless.series;
  if (hpa.length === 0) return [];
  const stepSeconds =
    report.scenario.durationSeconds > 6 * 3600 ? 3600 : report.scenario.durationSeconds > 3600 ? 900 : 60;
  const rows: string[][] = [
    [
      'time',
      'quotes/s',
      'req/s',
      'pods',
      'ready',
      'nodes',
      'util',
      'shed',
      'booking p99',
      '',
      'instances',
      'cold/s',
      'booking p99',
    ],
  ];
  for (let start = 0; start < report.scenario.durationSeconds; start += stepSeconds) {
    const inside = hpa.filter((point) => point.t >= start && point.t < start + stepSeconds);
    const fnInside = fn.filter((point) => point.t >= start && point.t < start + stepSeconds);
    if (inside.length === 0) continue;
    const max = <T>(list: T[], pick: (item: T) => number) => Math.max(...list.map(pick));
    const total = (point: (typeof inside)[number]) =>
      capacityClasses.reduce((sum, kind) => sum + point.demand[kind], 0);
    rows.push([
      clock(report.scenario.startsAt, start),
      max(inside, (point) => point.demand.quote).toFixed(1),
      integer(max(inside, total)),
      String(max(inside, (point) => point.replicas)),
      String(Math.round(Math.min(...inside.map((point) => point.ready)))),
      String(max(inside, (point) => point.nodes)),
      max(inside, (point) => point.utilization).toFixed(2),
      percent(
        max(inside, (point) => point.shedShare),
        0,
      ),
      `${ms(max(inside, (point) => point.p99Ms.booking))} ms`,
      '|',
      fnInside.length ? integer(max(fnInside, (point) => point.instances)) : '–',
      fnInside.length ? max(fnInside, (point) => point.coldStarts).toFixed(1) : '–',
      fnInside.length ? `${ms(max(fnInside, (point) => point.p99Ms.booking))} ms` : '–',
    ]);
  }
  return rows;
};

export const renderText = (report: CapacityReport, files?: { json: string; html: string }): string => {
  const { scenario, inputs, hpa, serverless, recommendation } = report;
  const lines: string[] = [];
  lines.push(
    `peakride capacity · ${scenario.name} · ${scenario.city} from ${scenario.startsAt}, ${scenario.durationSeconds >= 3600 ? `${Number((scenario.durationSeconds / 3600).toFixed(1))} h` : `${Math.round(scenario.durationSeconds / 60)} min`} · scale ${scenario.scale}`,
  );
  lines.push(`HPA          ${inputs.hpaFile}: ${describeHpa(inputs.hpa)}`);
  for (const note of inputs.hpaNotes) lines.push(`             ${note}`);
  const perPod = measuredClasses
    .map((kind) => `${kind} ${integer(inputs.podCapacity.requestsPerSecondAtFullLoop[kind])}/s`)
    .join(', ');
  lines.push(
    `pod capacity ${inputs.podCapacityFile} (${inputs.podCapacity.measuredAt}): one pod, each class alone at 100% event loop: ${perPod}`,
  );
  lines.push(
    `pods         ready ${(inputs.parameters.podStartSeconds + inputs.parameters.startupSeconds).toFixed(1)} s after a node slot (${inputs.parameters.podStartSeconds} s start + ${inputs.parameters.startupSeconds.toFixed(2)} s process); ${inputs.parameters.podsPerNode} per node${inputs.parameters.sparePods ? `, ${inputs.parameters.sparePods} spare slots` : ''}; a new node in ${inputs.parameters.nodeProvisioningSeconds} s; ${inputs.parameters.clients === 'websocket' ? 'apps on WebSockets' : 'apps polling'}`,
  );
  lines.push(
    `serverless   ${inputs.parameters.serverlessConcurrency} request(s) per instance, cold start ${inputs.parameters.coldStartSeconds.toFixed(2)} s, ${integer(inputs.parameters.scaleOutPer10Seconds)} new instances per 10 s, at most ${integer(inputs.parameters.maxInstances)}`,
  );
  lines.push('');
  const verdict = (holds: boolean, slo: SloResult[]) =>
    holds
      ? 'holds'
      : `misses ${slo
          .filter((s) => s.met === false)
          .map((s) => s.name)
          .join(', ')}`;
  const rows: string[][] = [
    ['', 'HPA (Kubernetes)', 'serverless'],
    ['verdict', verdict(hpa.holds, hpa.slo), verdict(serverless.holds, serverless.slo)],
  ];
  hpa.slo.forEach((slo, index) => {
    const other = serverless.slo[index]!;
    rows.push([
      `${slo.name} (${percent(slo.target, slo.target >= 0.999 ? 1 : 0)})`,
      slo.modelled ? sloCell(slo) : 'not modelled',
      other.modelled ? sloCell(other) : 'not modelled',
    ]);
  });
  rows.push([
    'peak',
    `${plural(hpa.totals.peakReplicas, 'pod')}, ${plural(hpa.totals.peakNodes, 'node')}`,
    `${integer(serverless.totals.peakInstances)} instances`,
  ]);
  rows.push([
    'cost',
    `${integer(hpa.totals.replicaSeconds)} replica-s, ${integer(hpa.totals.nodeSeconds)} node-s`,
    `${integer(serverless.totals.billedSeconds)} billed instance-s`,
  ]);
  const turnedAway = (rides: { requested: number; walkedAway: number; bookingFailed: number }) =>
    `${integer(rides.walkedAway + rides.bookingFailed)} of ${integer(rides.requested)} (${percent((rides.walkedAway + rides.bookingFailed) / Math.max(1, rides.requested), 2)})`;
  rows.push(['riders turned away', turnedAway(hpa.totals.rides), turnedAway(serverless.totals.rides)]);
  rows.push([
    'refused',
    `${percent(hpa.totals.shed / Math.max(1, hpa.totals.requests), 2)} shed, ${integer(hpa.totals.failed)} failed`,
    `${integer(serverless.totals.throttled)} throttled, ${integer(serverless.totals.coldStarts)} cold starts`,
  ]);
  for (const kind of ['booking', 'quote', 'location'] as const)
    rows.push([
      `worst p99 ${kind}`,
      `${ms(hpa.totals.worstP99Ms[kind])} ms`,
      `${ms(serverless.totals.worstP99Ms[kind])} ms`,
    ]);
  lines.push(table(rows));
  for (const slo of hpa.slo.filter((s) => !s.modelled)) lines.push(`${slo.name}: ${slo.reason}`);
  lines.push(
    'Riders turned away had every quote (or booking) attempt refused; quote-availability counts each refused attempt.',
  );
  lines.push('');
  const time = timeRows(report);
  if (time.length > 1) {
    lines.push('Over time (the worst of each row; left: HPA, right: serverless)');
    lines.push(table(time));
    lines.push('');
  }
  if (recommendation.found && recommendation.candidate && recommendation.spec) {
    const { candidate } = recommendation;
    lines.push(
      `Recommended: target ${Math.round(candidate.targetUtilization * 100)}% (${recommendation.spec.metrics.map(describeMetric).join(', ')}), minReplicas ${candidate.minReplicas}, ${maxReplicasText(recommendation)}, scale-up ${candidate.scaleUp.name}: ${integer(recommendation.replicaSeconds ?? 0)} replica-s (${percent((recommendation.replicaSeconds ?? 0) / Math.max(1, hpa.totals.replicaSeconds) - 1, 0)} vs the manifest), peak ${recommendation.peakReplicas} pods; every modelled SLO met (${recommendation.evaluated} settings replayed).`,
    );
  } else {
    lines.push(
      `Recommended: no setting met every modelled SLO (${recommendation.evaluated} settings replayed: targets ${recommendation.targets.map((t) => `${t * 100}%`).join(', ')}, maxReplicas up to ${recommendation.maxReplicasLimit}, the node group's ${inputs.parameters.maxNodes} nodes × ${inputs.parameters.podsPerNode} pods); raise the per-pod capacity or the node group.`,
    );
  }
  if (files) lines.push(`Report: ${files.json}, chart: ${files.html}`);
  return `${lines.join('\n')}\n`;
};
