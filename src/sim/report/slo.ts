import { errorBudget, type Objectives } from '../../ops/slo/objectives.js';
import {
  matches,
  parsePrometheusText,
  parseSelector,
  type Sample,
  type Selector,
  seriesKey,
} from './prometheus-text.js';

/**
 * Judges a run against the SLO file (slo/objectives.yaml) from two scrapes of the target's
 * /metrics, one at the start and one at the end: each selector's increase over the run is what
 * Prometheus's `increase()` would give over that window, summed over every label as the
 * recording rules do (docs/slo.md).
 */

export interface SloVerdict {
  name: string;
  description: string;
  target: number;
  /** Bad events within the budget the run's events allowed; true when there were no events. */
  met: boolean;
  /** Share of good events over the run; null when there were none. */
  value: number | null;
  events: number;
  bad: number;
  /** bad / ((1 - target) · events): 1 is the whole budget the run's events allowed; null with no events. */
  budgetSpent: number | null;
  /** What the numbers rest on that a reader should know: restarts, missing series, no events. */
  notes: string[];
}

/** A restart shows as a new process start time, or as a counter that went down. */
const START_TIME = 'process_start_time_seconds';

export const evaluateObjectives = (objectives: Objectives, before: string, after: string): SloVerdict[] => {
  const beforeSamples = parsePrometheusText(before);
  const afterSamples = parsePrometheusText(after);
  const beforeValues = new Map(beforeSamples.map((sample) => [seriesKey(sample), sample.value]));
  const parsed = new Map<string, Selector>();
  const selector = (text: string) => {
    let found = parsed.get(text);
    if (!found) {
      found = parseSelector(text);
      parsed.set(text, found);
    }
    return found;
  };
  const every = objectives.objectives.flatMap(({ sli }) => [
    ...(sli.good ?? []),
    ...(sli.errors ?? []),
    ...sli.total,
  ]);
  const restart = restartEvidence(every.map(selector), beforeSamples, afterSamples, beforeValues);

  /** A selector's increase over the run, and what to say about it. */
  const increase = (text: string, notes: string[]): number => {
    const chosen = selector(text);
    let sum = 0;
    let found = false;
    for (const sample of afterSamples) {
      if (!matches(chosen, sample)) continue;
      found = true;
      if (Number.isNaN(sample.value)) {
        notes.push(`${seriesKey(sample)} is NaN at the end of the run: left out.`);
        continue;
      }
      // A series first seen at the end started during the run, from 0; after a restart every
      // series started from 0 at the restart.
      const start = restart ? 0 : (beforeValues.get(seriesKey(sample)) ?? 0);
      sum += Number.isNaN(start) ? sample.value : sample.value - start;
    }
    if (!found)
      notes.push(
        beforeSamples.some((sample) => matches(chosen, sample))
          ? `${text}: its series were at the start of the run and are gone at the end: counted as 0.`
          : `${text}: no series matches it on the target: counted as 0.`,
      );
    return sum;
  };

  return objectives.objectives.map((objective): SloVerdict => {
    const notes: string[] = restart ? [restart] : [];
    const sum = (selectors: string[]) => selectors.reduce((total, text) => total + increase(text, notes), 0);
    const events = sum(objective.sli.total);
    let bad = objective.sli.good ? events - sum(objective.sli.good) : sum(objective.sli.errors ?? []);
    if (bad < 0 || bad > events) {
      notes.push(
        `bad events (${bad}) outside 0..${events}: the selectors do not count the same events; clamped.`,
      );
      bad = Math.min(Math.max(bad, 0), events);
    }
    const budget = errorBudget(objective.target);
    if (events === 0) notes.push('no events during the run: nothing to judge, no budget spent.');
    return {
      name: objective.name,
      description: objective.description,
      target: objective.target,
      // Compared as counts with a hair of slack: 1 - 0.999 is not exactly 0.001 in floating point.
      met: events === 0 || bad <= budget * events * (1 + 1e-9),
      value: events > 0 ? (events - bad) / events : null,
      events,
      bad,
      budgetSpent: events > 0 ? bad / (budget * events) : null,
      notes,
    };
  });
};

/** Why the target must have restarted between the scrapes, or undefined when it did not. */
const restartEvidence = (
  selectors: Selector[],
  beforeSamples: Sample[],
  afterSamples: Sample[],
  beforeValues: Map<string, number>,
): string | undefined => {
  const outcome = 'counted only the events since the restart; those before it are lost.';
  const startedBefore = beforeSamples.find((sample) => sample.name === START_TIME)?.value;
  const startedAfter = afterSamples.find((sample) => sample.name === START_TIME)?.value;
  if (startedBefore !== undefined && startedAfter !== undefined && startedAfter !== startedBefore)
    return `the target restarted during the run (${START_TIME} went from ${startedBefore} to ${startedAfter}): ${outcome}`;
  for (const sample of afterSamples) {
    if (!selectors.some((selector) => matches(selector, sample))) continue;
    const key = seriesKey(sample);
    const start = beforeValues.get(key);
    if (start !== undefined && sample.value < start)
      return `the target restarted during the run (counter ${key} went down from ${start} to ${sample.value}): ${outcome}`;
  }
  return undefined;
};
