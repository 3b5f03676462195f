import { errorBudget, type Objective, type Objectives } from '../ops/slo/objectives.js';
import { matches, parseSelector, type Sample, type Selector } from '../sim/report/prometheus-text.js';
import { type CapacityClass, capacityClasses, classIndex, classInfo } from './classes.js';
import type { Costs } from './costs.js';

/**
 * The SLO file's objectives, as far as a capacity model can judge them. An objective is modelled
 * when its selectors count requests of routes the model follows: availability (errors are 5xx
 * answers of those routes) or latency (good answers are those under a bucket bound). Anything
 * else — time to match above all, which depends on drivers and dispatch — is reported as not
 * modelled, with the reason. The objectives are matched by their selectors, not their names, so
 * an edited SLO file is judged by what it says.
 */

export interface ModelledSli {
  kind: 'availability' | 'latency';
  classes: CapacityClass[];
  /** Latency objectives: the bucket bound, ms. */
  thresholdMs?: number;
}

export interface SloPlan {
  objective: Objective;
  sli?: ModelledSli;
  /** Why the objective is not modelled. */
  reason?: string;
}

const sample = (name: string, labels: Record<string, string>): Sample => ({ name, labels, value: 0 });

const anyMatch = (selectors: readonly Selector[], candidate: Sample) =>
  selectors.some((selector) => matches(selector, candidate));

/** The `le` bound a bucket selector picks, in seconds, from its `le` matcher. */
const bucketBound = (selectors: readonly Selector[]): number | undefined => {
  for (const selector of selectors) {
    const matcher = selector.matchers.find((m) => m.label === 'le' && (m.op === '=' || m.op === '=~'));
    const number = matcher ? /[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?/i.exec(matcher.value) : null;
    if (number) return Number(number[0]);
  }
  return undefined;
};

const metricNames = (selectors: readonly Selector[]) =>
  [
    ...new Set(
      selectors.map((s) => s.matchers.find((m) => m.label === '__name__' && m.op === '=')?.value ?? s.text),
    ),
  ].join(', ');

/** Decides, for each objective, what the model can count for it. */
export const planObjectives = (objectives: Objectives): SloPlan[] =>
  objectives.objectives.map((objective): SloPlan => {
    const total = objective.sli.total.map(parseSelector);
    const good = objective.sli.good?.map(parseSelector);
    const errors = objective.sli.errors?.map(parseSelector);
    const routesOf = (kind: CapacityClass) => classInfo[kind].routes;

    // Availability: requests counted by route and status.
    const counted = capacityClasses.filter((kind) =>
      routesOf(kind).some(({ method, route }) =>
        anyMatch(total, sample('http_requests_total', { method, route, status: '200' })),
      ),
    );
    if (counted.length > 0) {
      const badWhen = (kind: CapacityClass, status: string) =>
        routesOf(kind).some(({ method, route }) => {
          const candidate = sample('http_requests_total', { method, route, status });
          return errors ? anyMatch(errors, candidate) : !anyMatch(good ?? [], candidate);
        });
      if (counted.every((kind) => badWhen(kind, '503') && !badWhen(kind, '200')))
        return { objective, sli: { kind: 'availability', classes: counted } };
      return {
        objective,
        reason: `counts ${metricNames(total)} but its bad events are not the 5xx answers the model produces`,
      };
    }

    // Latency: a duration histogram's bucket over its count.
    const timed = capacityClasses.filter((kind) =>
      routesOf(kind).some(({ method, route }) =>
        anyMatch(total, sample('http_request_duration_seconds_count', { method, route })),
      ),
    );
    if (timed.length > 0 && good) {
      const bound = bucketBound(good);
      const allGood =
        bound !== undefined &&
        timed.every((kind) =>
          routesOf(kind).some(({ method, route }) =>
            anyMatch(
              good,
              sample('http_request_duration_seconds_bucket', { method, route, le: String(bound) }),
            ),
          ),
        );
      if (allGood)
        return { objective, sli: { kind: 'latency', classes: timed, thresholdMs: (bound as number) * 1000 } };
    }

    const names = metricNames(total);
    return {
      objective,
      reason: /time_to_match|rides_expired/.test(names)
        ? 'time to match depends on drivers and dispatch, which a capacity model does not simulate: `peakride sim` measures it'
        : `its events (${names}) are not requests the model follows`,
    };
  });

/** Good and bad events of one objective over a run. */
export interface SloCounter {
  events: number;
  bad: number;
}

export interface SloResult {
  name: string;
  description: string;
  target: number;
  modelled: boolean;
  /** Not modelled: why. */
  reason?: string;
  /** Bad events within the budget the run's events allowed (true with no events). */
  met: boolean | null;
  /** Share of good events; null with no events or not modelled. */
  value: number | null;
  events: number;
  bad: number;
  /** bad / (budget × events): 1 is the whole budget the run allowed. */
  budgetSpent: number | null;
  /** Latency objectives: the bound, ms. */
  thresholdMs?: number;
}

export const judge = (plan: SloPlan, counter: SloCounter | undefined): SloResult => {
  const { objective } = plan;
  const base = { name: objective.name, description: objective.description, target: objective.target };
  if (!plan.sli || !counter)
    return {
      ...base,
      modelled: false,
      reason: plan.reason ?? 'not modelled',
      met: null,
      value: null,
      events: 0,
      bad: 0,
      budgetSpent: null,
    };
  const budget = errorBudget(objective.target);
  const { events, bad } = counter;
  return {
    ...base,
    modelled: true,
    ...(plan.sli.thresholdMs !== undefined ? { thresholdMs: plan.sli.thresholdMs } : {}),
    met: events === 0 || bad <= budget * events * (1 + 1e-9),
    value: events > 0 ? (events - bad) / events : null,
    events,
    bad,
    budgetSpent: events > 0 ? bad / (budget * events) : null,
  };
};

/** The modelled SLIs, ready for the loop: class indexes and each class's latency cache. */
export const slisOf = (plans: readonly SloPlan[], costs: Costs) =>
  plans.flatMap((plan, index) =>
    plan.sli
      ? [
          {
            index,
            kind: plan.sli.kind,
            thresholdMs: plan.sli.thresholdMs ?? 0,
            classes: plan.sli.classes.map((kind) => classIndex[kind]),
            sheddable: capacityClasses.map((kind) => classInfo[kind].sheddable),
            latency: costs.costedAs.map((measured) => costs.latency[measured]),
            counter: { events: 0, bad: 0 } as SloCounter,
          },
        ]
      : [],
  );

/** Every modelled objective met (an objective that cannot be modelled does not count). */
export const allMet = (results: readonly SloResult[]) => results.every((result) => result.met !== false);

export type { Objective };
