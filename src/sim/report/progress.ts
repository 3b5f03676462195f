import type { Scenario } from '../types.js';
import type { LiveStats, RunTotals } from './recorder.js';

/**
 * The live status of a run. On a terminal one line is rewritten in place twice a second; in a
 * CI log (not a TTY) a plain line is printed every 10 s, so the log shows progress without
 * carriage-return noise. No dependency: log-update and friends need Node 22.
 */

export interface ProgressFacts {
  scenario: Pick<Scenario, 'name' | 'startsAt'>;
  /** Simulated seconds since the scenario's start. */
  simulatedSeconds: number;
  /** Simulated seconds the run will cover. */
  durationSeconds: number;
  wallSeconds: number;
  live: LiveStats;
  totals: RunTotals;
}

export interface ProgressOptions {
  /** Defaults to the stream's own `isTTY`. */
  tty?: boolean;
  /** How often the line is written; 500 ms on a terminal, 10 s otherwise. */
  intervalMs?: number;
}

const CLEAR_LINE = '\r\x1b[2K';

const two = (n: number) => String(n).padStart(2, '0');

/** The scenario's time of day at `simulatedSeconds`, HH:MM:SS. */
export const timeOfDay = (startsAt: string, simulatedSeconds: number): string => {
  const [hours = 0, minutes = 0] = startsAt.split(':').map(Number);
  const start = ((Number.isFinite(hours) ? hours : 0) * 60 + (Number.isFinite(minutes) ? minutes : 0)) * 60;
  const day = (((Math.floor(start + simulatedSeconds) % 86_400) + 86_400) % 86_400) | 0;
  return `${two(Math.floor(day / 3600))}:${two(Math.floor((day % 3600) / 60))}:${two(day % 60)}`;
};

const elapsed = (seconds: number) => {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  return h > 0
    ? `${h}:${two(Math.floor((total % 3600) / 60))}:${two(total % 60)}`
    : `${two(Math.floor(total / 60))}:${two(total % 60)}`;
};

const integer = (value: number) => Math.round(value).toLocaleString('en-US');

/** The status line, without any control characters. */
export const formatProgress = (facts: ProgressFacts): string => {
  const { live, totals } = facts;
  const done = facts.durationSeconds > 0 ? Math.min(facts.simulatedSeconds / facts.durationSeconds, 1) : 0;
  return [
    `${timeOfDay(facts.scenario.startsAt, facts.simulatedSeconds)} ${Math.floor(done * 100)}%`,
    `wall ${elapsed(facts.wallSeconds)}`,
    `${integer(live.requestsPerSecond)} req/s`,
    `p99 ${live.p99Ms === null ? '–' : live.p99Ms >= 10 ? integer(live.p99Ms) : live.p99Ms.toFixed(1)} ms`,
    `matched ${integer(totals.outcomes.matched)}/${integer(totals.outcomes.requested)}`,
    `shed ${integer(totals.shed)}`,
    `errors ${integer(totals.errors)}`,
  ].join(' · ');
};

export const createProgress = (
  stream: NodeJS.WriteStream,
  source: () => ProgressFacts,
  options: ProgressOptions = {},
) => {
  const tty = options.tty ?? stream.isTTY === true;
  const intervalMs = options.intervalMs ?? (tty ? 500 : 10_000);
  let drawn = false;

  const write = () => {
    const line = formatProgress(source());
    if (tty) {
      // A line wider than the terminal wraps, and \r then rewrites only its last row.
      const columns = stream.columns && stream.columns > 1 ? stream.columns - 1 : 119;
      stream.write(`${CLEAR_LINE}${line.length > columns ? `${line.slice(0, columns - 1)}…` : line}`);
      drawn = true;
    } else stream.write(`${line}\n`);
  };

  const timer = setInterval(write, intervalMs);
  // The run ends when its work does, not when the status line says so.
  timer.unref();

  return {
    /** Writes the line now (the first one appears after one interval otherwise). */
    update: write,
    /** Stops updating and clears the status line, so what is written next starts on a clean line. */
    stop(): void {
      clearInterval(timer);
      if (tty && drawn) stream.write(CLEAR_LINE);
      drawn = false;
    },
  };
};

export type Progress = ReturnType<typeof createProgress>;
