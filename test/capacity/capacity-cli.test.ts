import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/cli.js';

/** `peakride capacity` as a user runs it, from the built CLI (`npm run build` first). */

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const defaultsExist = ['deploy/kubernetes/base/api-hpa.yaml', 'deploy/capacity/pod-capacity.json'].every(
  (file) => existsSync(join(root, file)),
);
const tempDirs: string[] = [];
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const capacity = async (args: string[]) => {
  const out = await mkdtemp(join(tmpdir(), 'peakride-capacity-test-'));
  tempDirs.push(out);
  const run = await startCli(['capacity', ...args, '--out', out], { cwd: root }).exited;
  return { ...run, out };
};

const withFixtures = ['--hpa', fixture('api-hpa.yaml'), '--pod-capacity', fixture('pod-capacity.json')];

describe('peakride capacity', () => {
  it.skipIf(!defaultsExist)(
    'When run on strike-day with --json and the shipped HPA and pod capacity, then the report has both replays, the SLO verdicts, the series and a recommendation',
    async () => {
      const run = await capacity(['strike-day', '--json']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.scenario).toMatchObject({ name: 'strike-day', durationSeconds: 86_400, scale: 1 });
      expect(report.inputs.hpaFile).toBe('deploy/kubernetes/base/api-hpa.yaml');
      expect(report.inputs.podCapacityFile).toBe('deploy/capacity/pod-capacity.json');
      for (const side of [report.hpa, report.serverless]) {
        expect(typeof side.holds).toBe('boolean');
        expect(side.slo.map((slo: { name: string }) => slo.name)).toEqual([
          'booking-availability',
          'booking-latency',
          'quote-availability',
          'time-to-match',
        ]);
        // One point per 15 s sync period over the day.
        expect(side.series).toHaveLength(86_400 / 15);
      }
      expect(report.hpa.series[0]).toMatchObject({
        t: 0,
        demand: expect.objectContaining({ quote: expect.any(Number), location: expect.any(Number) }),
        replicas: expect.any(Number),
        ready: expect.any(Number),
        nodes: expect.any(Number),
        utilization: expect.any(Number),
        shedShare: expect.any(Number),
        p99Ms: expect.objectContaining({ booking: expect.any(Number) }),
      });
      expect(report.serverless.series[0]).toMatchObject({
        instances: expect.any(Number),
        coldStarts: expect.any(Number),
      });
      expect(report.recommendation).toMatchObject({
        evaluated: expect.any(Number),
        found: expect.any(Boolean),
      });
      expect(report.derivation.length).toBeGreaterThan(0);
      const html = await readFile(join(run.out, 'capacity.html'), 'utf8');
      expect(html).toContain('uPlot');
      expect(html).not.toMatch(/<script[^>]+src=/);
      expect(JSON.parse(await readFile(join(run.out, 'capacity.json'), 'utf8')).scenario.name).toBe(
        'strike-day',
      );
    },
    180_000,
  );

  it('When run with fixtures, then the summary compares the HPA with serverless and names a recommendation', async () => {
    const run = await capacity(['flash-peak', ...withFixtures, '--scale', '150']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/HPA \(Kubernetes\)\s+serverless/);
    expect(run.stdout).toMatch(/booking-latency \(99%\)/);
    expect(run.stdout).toMatch(/time-to-match: time to match depends on drivers/);
    expect(run.stdout).toMatch(/^Recommended: /m);
    expect(existsSync(join(run.out, 'capacity.html'))).toBe(true);
  }, 120_000);

  it('When the arguments are wrong, then it exits 2 naming the problem', async () => {
    expect(await capacity([])).toMatchObject({ code: 2, stderr: expect.stringMatching(/name a scenario/) });
    expect(await capacity(['strike-day', '--scale', '0'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--scale must be a number > 0, got "0"/),
    });
    expect(await capacity(['strike-day', '--offers', 'pigeons'])).toMatchObject({ code: 2 });
    expect(await capacity(['strike-day', '--pods-per-node', '1.5'])).toMatchObject({ code: 2 });
    expect(await capacity(['strike-day', '--no-such-option'])).toMatchObject({ code: 2 });
  }, 60_000);

  it('When an input file cannot be used, then it exits 78 naming the file and the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peakride-capacity-input-'));
    tempDirs.push(dir);
    const badHpa = join(dir, 'hpa.yaml');
    await writeFile(
      badHpa,
      'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 4\n  metrics:\n    - type: External\n',
    );
    const hpa = await capacity([
      'strike-day',
      '--hpa',
      badHpa,
      '--pod-capacity',
      fixture('pod-capacity.json'),
    ]);
    expect(hpa.code).toBe(78);
    expect(hpa.stderr).toContain(`${badHpa}: spec.metrics[0].type:`);

    const badCapacity = join(dir, 'pod.json');
    await writeFile(badCapacity, JSON.stringify({ version: 1, classes: {} }));
    const pod = await capacity([
      'strike-day',
      '--hpa',
      fixture('api-hpa.yaml'),
      '--pod-capacity',
      badCapacity,
    ]);
    expect(pod.code).toBe(78);
    expect(pod.stderr).toContain(`${badCapacity}: classes.quote: missing`);

    const missing = await capacity([
      'strike-day',
      '--hpa',
      join(dir, 'none.yaml'),
      '--pod-capacity',
      badCapacity,
    ]);
    expect(missing.code).toBe(78);

    const scenario = await capacity(['no-such-scenario', ...withFixtures]);
    expect(scenario.code).toBe(78);
    expect(scenario.stderr).toMatch(/there is no shipped scenario named "no-such-scenario"/);

    const objectives = join(dir, 'slo.yaml');
    await writeFile(objectives, 'version: 2\n');
    const slo = await capacity(['strike-day', ...withFixtures, '--objectives', objectives]);
    expect(slo.code).toBe(78);
    expect(slo.stderr).toContain(`${objectives}: version:`);
  }, 60_000);
});
