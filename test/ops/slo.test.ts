import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dashboard } from '../../src/ops/slo/dashboard.js';
import { loadObjectives, parseObjectives, SloFileError } from '../../src/ops/slo/objectives.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/peakride.js');
const monitoring = join(root, 'deploy/monitoring');
const objectivesFile = join(root, 'slo/objectives.yaml');
const run = promisify(execFile);
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable reference, not a template
const grafanaDatasource = '${datasource}';

/** Runs a command to its end; a non-zero exit is a result, not a throw. */
const exec = async (file: string, args: string[], cwd = root) => {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, timeout: 110_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
};
const peakride = (args: string[]) => exec(process.execPath, [cli, ...args]);

const valid = `
version: 1
objectives:
  - name: booking-availability
    description: Booking answers without a server error.
    target: 0.999
    window: 28d
    sli:
      errors: 'http_requests_total{route="/v1/rides",status=~"5.."}'
      total: 'http_requests_total{route="/v1/rides"}'
`;
const parseError = (text: string) => {
  try {
    parseObjectives(text, 'objectives.yaml');
  } catch (error) {
    if (error instanceof SloFileError) return error.message;
    throw error;
  }
  throw new Error('expected an SloFileError');
};

const tempDirs: string[] = [];
const freshDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peakride-slo-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('the SLO file', () => {
  it('When the committed file is loaded, then it declares the objectives of the issues: bookings, quotes and time to match', async () => {
    const { objectives, runbooks } = await loadObjectives(objectivesFile);
    expect(runbooks).toBe('docs/slo.md');
    expect(objectives.map(({ name, target, window }) => ({ name, target, window }))).toEqual([
      { name: 'booking-availability', target: 0.999, window: '28d' },
      { name: 'booking-latency', target: 0.99, window: '28d' },
      { name: 'quote-availability', target: 0.99, window: '28d' },
      { name: 'time-to-match', target: 0.95, window: '28d' },
    ]);
    expect(objectives[3]?.sli.total).toEqual([
      'peakride_time_to_match_seconds_count',
      'peakride_rides_expired_total',
    ]);
  });

  it('When a file is valid, then selectors become lists and the window is counted in days', () => {
    const [objective] = parseObjectives(valid.replace('28d', '4w'), 'objectives.yaml').objectives;
    expect(objective?.windowDays).toBe(28);
    expect(objective?.sli).toEqual({
      errors: ['http_requests_total{route="/v1/rides",status=~"5.."}'],
      total: ['http_requests_total{route="/v1/rides"}'],
    });
  });

  it.each([
    [
      'a target given in percent',
      valid.replace('0.999', '99.9'),
      'objectives[0] (booking-availability).target: must be a number between 0 and 1',
    ],
    ['a target of 1', valid.replace('0.999', '1'), '.target: must be a number between 0 and 1'],
    [
      'a missing target',
      valid.replace('    target: 0.999\n', ''),
      'objectives[0] (booking-availability).target: missing',
    ],
    ['a missing description', valid.replace(/ {4}description:.*\n/, ''), '.description: missing'],
    ['a misspelt field', valid.replace('target:', 'traget:'), 'objectives[0].traget: unknown field'],
    ['a window in hours', valid.replace('28d', '36h'), '.window: must be days or weeks between 7d and 90d'],
    ['a missing total', valid.replace(/ {6}total:.*\n/, ''), '.sli.total: missing'],
    [
      'both good and errors',
      valid.replace('errors:', 'good: up\n      errors:'),
      'needs exactly one of `good` and `errors`',
    ],
    [
      'a function instead of a selector',
      valid.replace(/errors: .*/, 'errors: rate(x[5m])'),
      '.sli.errors: must be a plain counter selector',
    ],
    [
      'a name with capitals',
      valid.replace('booking-availability', 'Booking'),
      'objectives[0].name: must be lower-case words',
    ],
    [
      'two objectives of one name',
      valid + valid.split('objectives:\n')[1],
      'objectives[1] (booking-availability).name: is used by an earlier objective',
    ],
    ['no objectives', 'version: 1\nobjectives: []\n', 'objectives: must be a non-empty list'],
    ['an unknown version', valid.replace('version: 1', 'version: 2'), 'version: must be 1'],
    ['broken YAML', 'objectives: [', 'objectives.yaml: not valid YAML'],
  ])('When it has %s, then loading fails naming the file and the field', (_, text, message) => {
    const error = parseError(text);
    expect(error).toContain(message);
    expect(error.startsWith('objectives.yaml: ')).toBe(true);
  });
});

describe('the dashboard', () => {
  it('When generated, then it picks Prometheus through a datasource variable and shows every objective with unique panel ids', async () => {
    const objectives = await loadObjectives(objectivesFile);
    const board = dashboard(objectives, 'header');
    const panels = board.panels as {
      id: number;
      title: string;
      type: string;
      datasource?: { uid: string };
    }[];
    expect(board.templating.list[0]).toMatchObject({
      name: 'datasource',
      type: 'datasource',
      query: 'prometheus',
    });
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    for (const panel of panels.filter((panel) => panel.type !== 'row'))
      expect(panel.datasource?.uid).toBe(grafanaDatasource);
    const rows = panels.filter((panel) => panel.type === 'row').map((panel) => panel.title);
    for (const { name } of objectives.objectives)
      expect(rows.some((title) => title.includes(name))).toBe(true);
  });
});

describe('peakride slo', () => {
  beforeAll(() => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first (npm test does).`);
  });

  it('When the committed files are checked, then they match what slo/objectives.yaml generates', async () => {
    const result = await peakride(['slo', '--check']);
    expect(result.code, `${result.stderr}\nRun "npx peakride slo" and commit the result.`).toBe(0);
  });

  it('When generated twice into a fresh directory, then --check passes and the files carry the header', async () => {
    const out = await freshDir();
    const first = await peakride(['slo', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    expect(await peakride(['slo', '--out', out, '--check'])).toMatchObject({ code: 0 });
    const rules = await readFile(join(out, 'peakride-slo-rules.yaml'), 'utf8');
    expect(rules.split('\n')[0]).toBe('# generated by peakride slo from slo/objectives.yaml; do not edit');
    const board = JSON.parse(await readFile(join(out, 'peakride-dashboard.json'), 'utf8')) as {
      description: string;
    };
    expect(board.description).toBe('generated by peakride slo from slo/objectives.yaml; do not edit');
  });

  it('When a generated file was edited by hand, then --check exits 1 naming it', async () => {
    const out = await freshDir();
    await peakride(['slo', '--out', out]);
    await writeFile(join(out, 'peakride-dashboard.json'), '{}\n');
    const result = await peakride(['slo', '--out', out, '--check']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('peakride-dashboard.json');
    expect(result.stderr).not.toContain('peakride-slo-rules.yaml');
  });

  it('When generated into a directory, then the Kubernetes objects carry the same rule groups and dashboard', async () => {
    const out = await freshDir();
    expect(await peakride(['slo', '--out', out])).toMatchObject({ code: 0 });
    const rules = parse(await readFile(join(out, 'peakride-slo-rules.yaml'), 'utf8')) as {
      groups: unknown[];
    };
    const ruleText = await readFile(join(out, 'prometheus-rule.yaml'), 'utf8');
    expect(ruleText.split('\n')[0]).toBe('# generated by peakride slo from slo/objectives.yaml; do not edit');
    const rule = parse(ruleText) as { apiVersion: string; kind: string; spec: { groups: unknown[] } };
    expect(rule).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' });
    expect(rule.spec.groups).toEqual(rules.groups);
    const board = parse(await readFile(join(out, 'grafana-dashboard.yaml'), 'utf8')) as {
      kind: string;
      metadata: { labels: Record<string, string> };
      data: Record<string, string>;
    };
    expect(board.kind).toBe('ConfigMap');
    expect(board.metadata.labels.grafana_dashboard).toBe('1');
    expect(board.data['peakride-dashboard.json']).toBe(
      await readFile(join(out, 'peakride-dashboard.json'), 'utf8'),
    );
  });

  it('When the Kubernetes PrometheusRule was edited by hand, then --check exits 1 naming it', async () => {
    const out = await freshDir();
    await peakride(['slo', '--out', out]);
    const file = join(out, 'prometheus-rule.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('for: 2m', 'for: 10m'));
    const result = await peakride(['slo', '--out', out, '--check']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('prometheus-rule.yaml');
    expect(result.stderr).not.toContain('grafana-dashboard.yaml');
  });

  it('When the SLO file is invalid, then it exits 78 naming the field and writes nothing', async () => {
    const dir = await freshDir();
    const file = join(dir, 'objectives.yaml');
    await writeFile(file, valid.replace('0.999', '99.9'));
    const result = await peakride(['slo', '--objectives', file, '--out', join(dir, 'out')]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('objectives[0] (booking-availability).target');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('When run with --help, then it prints its usage', async () => {
    const result = await peakride(['slo', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: peakride slo');
  });
});

const promtool = (await exec('promtool', ['--version']).catch(() => undefined))?.code === 0;
const skipped = promtool
  ? ''
  : ' (skipped: promtool is not installed; .ci/run installs the Debian package prometheus)';

describe.skipIf(!promtool)(`promtool on deploy/monitoring${skipped}`, () => {
  it('When the generated rules are checked by promtool, then they are valid', async () => {
    const result = await exec('promtool', ['check', 'rules', 'peakride-slo-rules.yaml'], monitoring);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('When the alert unit tests run, then fast burns page, slow burns open a ticket and healthy series alert on nothing', async () => {
    const result = await exec('promtool', ['test', 'rules', 'peakride-slo-rules.test.yaml'], monitoring);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  }, 120_000);
});
