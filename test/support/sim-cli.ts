import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { startCli } from './cli.js';

/**
 * `peakride sim` run as a user runs it, for the simulator's CLI tests (split over files so the
 * longest runs go in parallel), and the checks every run's report must pass.
 */

/** A compressed scenario runs for a minute or two of wall time, plus the embedded platform's start. */
export const RUN_TIMEOUT_MS = 300_000;

const tempDirs: string[] = [];

const running = new Set<ChildProcess>();

/** Call once per test file: stops runs a timeout cut short and removes the reports. */
export const cleanUpSimRuns = () =>
  afterAll(async () => {
    // A run cut short by a test timeout is stopped (it stops its embedded platform on SIGTERM).
    for (const child of running) child.kill('SIGTERM');
    await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

/** A temporary directory removed with the runs' reports. */
export const tempDir = async (prefix: string) => {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
};

export interface SimRun {
  code: number | null;
  stdout: string;
  stderr: string;
  out: string;
  // biome-ignore lint/suspicious/noExplicitAny: report.json is checked field by field by the tests.
  report: any;
}

/** `peakride sim …` as a user runs it; the report is read back when there is one. */
export const sim = async (args: string[], during?: () => Promise<void>): Promise<SimRun> => {
  const out = await tempDir('peakride-sim-test-');
  // The embedded platform of a run ignores DATABASE_URL and REDIS_URL: nothing to strip here.
  const { exited } = startCli(['sim', ...args, '--out', out], {
    // The embedded platform takes its configuration from here: a shorter search window bounds how
    // long a run settles after its scenario (rides still searching expire within it).
    env: { ...process.env, PEAKRIDE_SEARCH_WINDOW_SECONDS: '30' },
    running,
  });
  await during?.();
  const { code, stdout, stderr } = await exited;
  const report = await readFile(join(out, 'report.json'), 'utf8').then(JSON.parse, () => undefined);
  return { code, stdout, stderr, out, report };
};

export const expectInvariantsHeld = (run: SimRun) => {
  const { lostBookings, doubleAssignments, stuckRides } = run.report.invariants;
  expect({ lostBookings, doubleAssignments, stuckRides }).toMatchObject({
    lostBookings: { count: 0 },
    doubleAssignments: { count: 0 },
    stuckRides: { count: 0 },
  });
  expect(run.report.verdict.invariantsHeld).toBe(true);
  expect(run.code, run.stderr).toBe(0);
};

export const expectReportShape = (run: SimRun, scenario: string, seed: number) => {
  const { report } = run;
  expect(report).toMatchObject({ scenario, seed });
  expect(report.durationSeconds).toBeGreaterThan(0);
  // The simulator's own CPU over the scenario: what tells a slow simulator from a slow target.
  expect(report.simulatorCpu.cores).toBeGreaterThan(0);
  expect(report.simulatorCpu.cores).toBeLessThan(2);
  for (const field of ['requested', 'created', 'matched', 'expired', 'cancelled']) {
    expect(report.bookings[field], field).toEqual(expect.any(Number));
  }
  for (const kind of ['quote', 'booking', 'location']) {
    expect(Object.keys(report.latencyMs[kind]), kind).toEqual(
      expect.arrayContaining(['p50', 'p90', 'p99', 'max']),
    );
  }
  expect(Object.keys(report.timeToMatchSeconds)).toEqual(expect.arrayContaining(['p50', 'p95']));
  expect(report.shed).toBeDefined();
  expect(report.errors).toEqual(expect.any(Object));
  expect(report.slo.map((objective: { name: string }) => objective.name)).toEqual([
    'booking-availability',
    'booking-latency',
    'quote-availability',
    'time-to-match',
  ]);
  for (const objective of report.slo) {
    expect(Object.keys(objective)).toEqual(expect.arrayContaining(['met', 'value', 'budgetSpent']));
  }
  expect(run.stdout).toContain('report.html');
  // The run settles before it reports: every booked ride got a driver, expired or was cancelled.
  const { created, matched, expired, cancelled } = report.bookings;
  expect(matched + expired + cancelled, 'rides without an outcome').toBe(created);
  expect(report.settleSeconds).toEqual(expect.any(Number));
};
