import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbedded } from '../support/processes.js';

/** A compressed scenario runs for a minute or two of wall time, plus the embedded platform's start. */
const RUN_TIMEOUT_MS = 300_000;

const cli = fileURLToPath(new URL('../../dist/peakride.js', import.meta.url));
const tempDirs: string[] = [];

const running = new Set<ChildProcess>();

afterAll(async () => {
  // A run cut short by a test timeout is stopped (it stops its embedded platform on SIGTERM).
  for (const child of running) child.kill('SIGTERM');
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

interface SimRun {
  code: number | null;
  stdout: string;
  stderr: string;
  out: string;
  // biome-ignore lint/suspicious/noExplicitAny: report.json is checked field by field below.
  report: any;
}

/** `peakride sim …` as a user runs it; the report is read back when there is one. */
const sim = async (args: string[], during?: () => Promise<void>): Promise<SimRun> => {
  const out = await mkdtemp(join(tmpdir(), 'peakride-sim-test-'));
  tempDirs.push(out);
  // The embedded platform of a run ignores DATABASE_URL and REDIS_URL: nothing to strip here.
  const child = spawn(process.execPath, [cli, 'sim', ...args, '--out', out], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The embedded platform takes its configuration from here: a shorter search window bounds how
    // long a run settles after its scenario (rides still searching expire within it).
    env: { ...process.env, PEAKRIDE_SEARCH_WINDOW_SECONDS: '30' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await during?.();
  const [code] = (await once(child, 'exit')) as [number | null];
  const report = await readFile(join(out, 'report.json'), 'utf8').then(JSON.parse, () => undefined);
  return { code, stdout, stderr, out, report };
};

const expectInvariantsHeld = (run: SimRun) => {
  const { lostBookings, doubleAssignments, stuckRides } = run.report.invariants;
  expect({ lostBookings, doubleAssignments, stuckRides }).toMatchObject({
    lostBookings: { count: 0 },
    doubleAssignments: { count: 0 },
    stuckRides: { count: 0 },
  });
  expect(run.report.verdict.invariantsHeld).toBe(true);
  expect(run.code, run.stderr).toBe(0);
};

const expectReportShape = (run: SimRun, scenario: string, seed: number) => {
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

describe('peakride sim, on the embedded platform', { timeout: RUN_TIMEOUT_MS }, () => {
  it('When a compressed flash-peak runs with a fixed seed, then riders get matched, every invariant holds and the report has every field', async () => {
    const run = await sim([
      'flash-peak',
      '--duration',
      '240',
      '--speed',
      '10',
      '--scale',
      '0.3',
      '--seed',
      '7',
    ]);
    expectInvariantsHeld(run);
    expectReportShape(run, 'flash-peak', 7);
    expect(run.report.bookings.created).toBeGreaterThan(50);
    expect(run.report.bookings.matched).toBeGreaterThan(0);
    const html = await readFile(join(run.out, 'report.html'), 'utf8');
    expect(html).toContain('flash-peak');
  });

  it('When a compressed strike-day runs, then its rushes come through and every invariant holds', async () => {
    const run = await sim(['strike-day', '--speed', '1440', '--scale', '0.005', '--seed', '3']);
    expectInvariantsHeld(run);
    expectReportShape(run, 'strike-day', 3);
    expect(run.report.bookings.requested).toBeGreaterThan(100);
  });

  it('When an hour of the New York trace is replayed, then demand follows the trace and every invariant holds', async () => {
    const run = await sim(['nyc-2014-04-04', '--duration', '3600', '--speed', '120', '--seed', '5']);
    expectInvariantsHeld(run);
    expectReportShape(run, 'nyc-2014-04-04', 5);
    // Pickups in the trace between 00:00 and 01:00, each replayed once at scale 1.
    const rows = (
      await readFile(fileURLToPath(new URL('../../data/uber-nyc-2014-04-04.csv', import.meta.url)), 'utf8')
    )
      .split('\n')
      .filter((line) => / 0?0:\d\d:\d\d,/.test(line)).length;
    expect(run.report.bookings.requested).toBe(rows);
  });
});

describe('peakride sim, latency accounting', { timeout: RUN_TIMEOUT_MS }, () => {
  it('When the target stalls for two seconds, then the stall shows in the p99 the simulator reports, and --fail-on-slo fails the run on a missed objective', async () => {
    const platform = await startEmbedded();
    // An objective no run can meet (no answer has status 999): the run must exit 1 for it.
    const dir = await mkdtemp(join(tmpdir(), 'peakride-sim-slo-'));
    tempDirs.push(dir);
    const objectives = join(dir, 'objectives.yaml');
    await writeFile(
      objectives,
      [
        'version: 1',
        'runbooks: docs/slo.md',
        'objectives:',
        '  - name: impossible',
        '    description: Every location update is answered with status 999.',
        '    target: 0.99',
        '    window: 28d',
        '    sli:',
        '      good: \'http_requests_total{route="/v1/drivers/me/location",status="999"}\'',
        '      total: \'http_requests_total{route="/v1/drivers/me/location"}\'',
        '',
      ].join('\n'),
    );
    try {
      const run = await sim(
        [
          '--fail-on-slo',
          '--objectives',
          objectives,
          'steady',
          '--target',
          platform.url,
          '--duration',
          '60',
          '--speed',
          '2',
          '--scale',
          '0.2',
          '--seed',
          '11',
        ],
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 12_000));
          process.kill(platform.pid, 'SIGSTOP');
          await new Promise((resolve) => setTimeout(resolve, 2_000));
          process.kill(platform.pid, 'SIGCONT');
        },
      );
      expect(run.report.verdict).toMatchObject({ invariantsHeld: true, sloMet: false });
      expect(run.report.slo).toEqual([expect.objectContaining({ name: 'impossible', met: false })]);
      expect(run.code, run.stderr).toBe(1);
      // Requests scheduled during the stall wait for it: open-model latency cannot hide it.
      expect(run.report.latencyMs.location.max).toBeGreaterThan(1_500);
      expect(run.report.latencyMs.location.p99).toBeGreaterThan(500);
    } finally {
      await platform.cleanup();
    }
  });
});

describe('peakride sim, bad input', { timeout: RUN_TIMEOUT_MS }, () => {
  it('When the scenario is unknown, then it exits 78 naming it and writes no report', async () => {
    const run = await sim(['no-such-scenario']);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('no-such-scenario');
    expect(run.report).toBeUndefined();
  });

  it('When an argument is malformed, then it exits 2 naming it', async () => {
    for (const args of [
      [],
      ['steady', '--speed', '0'],
      ['steady', '--seed', '-1'],
      ['steady', '--offers', 'smoke'],
      ['steady', '--target', 'localhost'],
      ['steady', '--from', 'noon'],
      ['steady', '--from', '90'],
      ['strike-day', '--from', '25h'],
      ['steady', '--duration', '0'],
    ]) {
      const run = await sim(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/^peakride( sim)?: /);
    }
  });

  it('When a scenario replays a trace with no usable row, then it exits 78 naming the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peakride-sim-trace-'));
    tempDirs.push(dir);
    await writeFile(join(dir, 'empty.csv'), 'Date/Time,Lat,Lon\n2014/4/4 00:03:00,not-a-number,-73.98\n');
    const scenario = (
      await readFile(fileURLToPath(new URL('../../scenarios/nyc-2014-04-04.yaml', import.meta.url)), 'utf8')
    ).replace(/file: .*/, 'file: empty.csv');
    await writeFile(join(dir, 'replay.yaml'), scenario);
    const run = await sim([join(dir, 'replay.yaml')]);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('empty.csv');
  });
});
