import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startEmbedded } from '../support/processes.js';
import {
  cleanUpSimRuns,
  expectInvariantsHeld,
  expectReportShape,
  RUN_TIMEOUT_MS,
  sim,
  tempDir,
} from '../support/sim-cli.js';

// The simulator CLI's other long runs, apart from sim-cli.test.ts so the two files run in parallel.
cleanUpSimRuns();

describe('peakride sim, replaying a trace', { timeout: RUN_TIMEOUT_MS }, () => {
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
    const dir = await tempDir('peakride-sim-slo-');
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
