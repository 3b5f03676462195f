import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  cleanUpSimRuns,
  expectInvariantsHeld,
  expectReportShape,
  RUN_TIMEOUT_MS,
  sim,
  tempDir,
} from '../support/sim-cli.js';

cleanUpSimRuns();

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
    const dir = await tempDir('peakride-sim-trace-');
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
