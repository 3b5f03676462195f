import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderReportHtml } from '../../src/sim/report/html.js';
import {
  createProgress,
  formatProgress,
  type ProgressFacts,
  timeOfDay,
} from '../../src/sim/report/progress.js';
import { createRecorder, type RunRecorder } from '../../src/sim/report/recorder.js';
import { buildReport, formatSummary, type Report } from '../../src/sim/report/report.js';
import type { SloVerdict } from '../../src/sim/report/slo.js';
import { writeReport } from '../../src/sim/report/write.js';
import { type RunFacts, requestClasses, rideOutcomes, type Scenario } from '../../src/sim/types.js';

const scenario: Scenario = {
  name: 'flash-peak',
  description: 'A concert lets out: demand jumps tenfold for ten minutes.',
  city: 'paris',
  durationSeconds: 600,
  startsAt: '23:55',
  demand: {
    baseRequestsPerMinute: 60,
    curve: [],
    hotspots: [{ name: 'arena', lat: 48.8386, lng: 2.3785, weight: 1, radiusMeters: 300 }],
    backgroundShare: 0.1,
    area: { south: 48.8, west: 2.25, north: 48.9, east: 2.42 },
  },
  drivers: { count: 200, online: [], acceptanceRate: 0.9, responseDelaySeconds: { min: 1, max: 5 } },
  riders: { maxSurge: 2.5, patienceSeconds: 120 },
};

const facts = (overrides: Partial<RunFacts> = {}): RunFacts => ({
  scenario,
  seed: 42,
  speed: 10,
  scale: 1,
  target: 'http://127.0.0.1:3000',
  embedded: true,
  simulatedSeconds: 600,
  wallSeconds: 61.5,
  settleSeconds: 4.25,
  webSockets: { budget: 18_856, peakOpen: 240, overBudget: 0 },
  simulatorCpuSeconds: 12.3,
  invariants: { lostBookings: [], doubleAssignments: [], stuckRides: [] },
  ...overrides,
});

const verdicts: SloVerdict[] = [
  {
    name: 'booking-availability',
    description: 'Booking a ride (POST /v1/rides) answers without a server error.',
    target: 0.999,
    met: true,
    value: 0.9995,
    events: 2000,
    bad: 1,
    budgetSpent: 0.5,
    notes: [],
  },
  {
    name: 'time-to-match',
    description: 'A requested ride gets a driver within 60 seconds.',
    target: 0.95,
    met: false,
    value: 0.9,
    events: 1000,
    bad: 100,
    budgetSpent: 2,
    notes: [
      'the target restarted during the run (process_start_time_seconds went from 1 to 2): counted only the events since the restart; those before it are lost.',
    ],
  },
];

/** The escape character that starts a terminal's colour and cursor codes. */
const ESC = '\u001b';

/** A wall clock the test moves by hand. */
const manualClock = (startMs = 1_000_000) => {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
};

/** Nearest rank, the rule HDR uses: the smallest value with at least p% of the values at or below it. */
const exactPercentile = (sorted: number[], p: number) =>
  sorted[Math.max(1, Math.ceil((p / 100) * sorted.length - 1e-9)) - 1]!;

/**
 * An open-model load: a request every 10 ms for 100 s, each answered 10 ms after it was due,
 * except that the server stalls from 50 s to 52 s and answers everything due meanwhile at 52.01 s.
 * Latency counts from the scheduled time, so every request caught in the stall shows its wait.
 */
const stalledRun = () => {
  const clock = manualClock();
  const recorder = createRecorder({ bucketSeconds: 10, expectedSeconds: 100, now: clock.now });
  const latencies: number[] = [];
  for (let i = 0; i < 10_000; i++) {
    const scheduledAt = i / 100;
    const answeredAt = scheduledAt >= 50 && scheduledAt < 52 ? 52.01 : scheduledAt + 0.01;
    const latencyMs = (answeredAt - scheduledAt) * 1000;
    latencies.push(latencyMs);
    recorder.request('booking', 201, latencyMs, answeredAt);
  }
  return { recorder, latencies: latencies.sort((a, b) => a - b) };
};

/** A small but complete run: every request class, outcome, gauge and kind of answer. */
const sampleRun = (): RunRecorder => {
  const clock = manualClock();
  const recorder = createRecorder({ bucketSeconds: 30, expectedSeconds: 600, now: clock.now });
  for (let second = 0; second < 600; second++) {
    clock.advance(100);
    const peak = second >= 300 && second < 420;
    recorder.gauge('onlineDrivers', 150 + (second % 60), second);
    recorder.gauge('surge', peak ? 1.8 : 1, second);
    for (let i = 0; i < (peak ? 10 : 2); i++) {
      recorder.outcome('requested', second);
      if (peak && i % 3 === 0) recorder.shed('quote', second);
      else recorder.request('quote', 201, 4 + i, second);
      recorder.request('booking', i === 0 && second === 330 ? 500 : 201, peak ? 40 + i : 12, second);
      recorder.outcome('created', second);
      recorder.outcome(i % 5 === 4 ? 'expired' : 'matched', second);
      recorder.timeToMatch(peak ? 20 + i : 5, second);
    }
    for (let d = 0; d < 20; d++) recorder.request('location', 204, 2, second);
    if (second % 50 === 0) recorder.request('offer', 409, 6, second);
    if (second === 400) recorder.request('read', 0, 30_000, second);
  }
  recorder.outcome('walkedAway', 330);
  recorder.outcome('cancelled', 340);
  recorder.outcome('completed', 590);
  recorder.outcome('failed', 591);
  return recorder;
};

describe('latency accounting', () => {
  it('When the server stalls for 2 s under an open-model load, then p99 and max show the stall, from the scheduled times', () => {
    const { recorder, latencies } = stalledRun();
    const { latencyMs } = recorder.summary();
    const booking = latencyMs.booking;
    expect(booking.count).toBe(10_000);
    // 200 of 10,000 requests (2%) were due during the stall: p99 falls among them.
    expect(exactPercentile(latencies, 99)).toBeCloseTo(1010, 6);
    expect(booking.p99!).toBeGreaterThanOrEqual(1010 - 0.001);
    expect(booking.p99!).toBeLessThanOrEqual(1010 * (1 + 1 / 1024) + 0.001);
    expect(booking.max).toBeCloseTo(2010, 3);
    expect(booking.p50).toBeCloseTo(10, 1);
    expect(booking.p90).toBeCloseTo(10, 1);
  });

  it('When the stall happened in one time bucket, then that bucket’s percentiles show it and the others do not', () => {
    const { recorder } = stalledRun();
    const { series } = recorder.summary();
    // The last answer comes at 100.0 s, the start of an eleventh bucket.
    expect(series.t.slice(0, 10)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    const p99 = series.latencyMs.booking.p99;
    // 200 stalled of the 1,000 answered in [50, 60): its p99 is near the 2 s the first waited.
    expect(p99[5]!).toBeGreaterThan(1900);
    for (const [bucket, value] of p99.entries()) if (bucket !== 5) expect(value!).toBeLessThan(10.2);
    expect(series.latencyMs.booking.p50[5]!).toBeLessThan(10.2);
    expect(series.requests.booking.reduce((sum, n) => sum + n, 0)).toBe(10_000);
    // No other class sent anything: their percentiles are gaps, not zeros.
    expect(series.latencyMs.quote.p99.every((value) => value === null)).toBe(true);
  });

  it('When random latencies are recorded, then p50, p90, p99 and max agree with a sorted array within HDR precision', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 600_000, noNaN: true, noDefaultInfinity: true }), {
          minLength: 1,
          maxLength: 400,
        }),
        (values) => {
          const recorder = createRecorder({ bucketSeconds: 60, now: () => 0 });
          for (const value of values) recorder.request('quote', 200, value, 1);
          const summary = recorder.summary().latencyMs.quote;
          // The recorder keeps whole microseconds; within those, 3 significant digits (1/1024).
          const sorted = values.map((value) => Math.round(value * 1000) / 1000).sort((a, b) => a - b);
          for (const [p, got] of [
            [50, summary.p50],
            [90, summary.p90],
            [99, summary.p99],
          ] as const) {
            const exact = exactPercentile(sorted, p);
            expect(got!).toBeGreaterThanOrEqual(exact - 1e-9);
            expect(got!).toBeLessThanOrEqual(exact * (1 + 1 / 1024) + 0.001 + 1e-9);
          }
          expect(summary.max).toBeCloseTo(sorted.at(-1)!, 6);
          expect(summary.count).toBe(values.length);
          // A bucket's percentiles keep 2 significant digits (1/128).
          const bucketP99 = recorder.summary().series.latencyMs.quote.p99[0]!;
          const exact99 = exactPercentile(sorted, 99);
          expect(bucketP99).toBeGreaterThanOrEqual(exact99 - 1e-9);
          expect(bucketP99).toBeLessThanOrEqual(exact99 * (1 + 1 / 128) + 0.001 + 1e-9);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('When requests are shed, then they are sent and shed but neither errors nor latency samples', () => {
    const recorder = createRecorder({ bucketSeconds: 10, now: () => 0 });
    recorder.request('quote', 201, 5, 1);
    recorder.shed('quote', 2);
    recorder.shed('quote', 3);
    recorder.request('quote', 503, 7, 4);
    recorder.request('quote', 0, 30_000, 5);
    const run = recorder.summary();
    expect(run.requests.quote).toEqual({
      sent: 5,
      ok: 1,
      clientError: 0,
      serverError: 1,
      shed: 2,
      network: 1,
    });
    expect(run.latencyMs.quote.count).toBe(3);
    expect(run.errorsByStatus).toEqual({ '0': 1, '503': 1 });
    expect(recorder.totals()).toMatchObject({ requests: 5, shed: 2, errors: 2 });
  });

  it('When the live window is read, then it covers only the last seconds of wall time', () => {
    const clock = manualClock(0);
    const recorder = createRecorder({ bucketSeconds: 10, now: clock.now });
    // Ten seconds of 100 requests/s at 5 ms, then five seconds of 200 requests/s at 50 ms.
    for (let ms = 0; ms < 15_000; ms += 10) {
      const late = ms >= 10_000;
      clock.advance(late ? 5 : 10);
      recorder.request('location', 204, late ? 50 : 5, ms / 1000);
      if (late) recorder.request('location', 204, 50, ms / 1000);
      if (ms % 1000 === 0) recorder.outcome('matched', ms / 1000);
      if (late && ms % 500 === 0) recorder.shed('quote', ms / 1000);
    }
    // Wall time ran at 10 ms per step, then 5: now is 12,500 ms.
    const live = recorder.live(2);
    expect(live.p99Ms).toBeCloseTo(50, 0);
    expect(live.requestsPerSecond).toBeGreaterThan(350);
    expect(live.shed).toBeGreaterThan(0);
    expect(live.errors).toBe(0);
    clock.advance(60_000);
    expect(recorder.live(5)).toMatchObject({ requestsPerSecond: 0, p99Ms: null, matched: 0, shed: 0 });
  });

  it('When gauges are sampled, then drivers online keep the bucket’s last value, surge its highest, and a bucket with none is a gap', () => {
    const recorder = createRecorder({ bucketSeconds: 10, now: () => 0 });
    recorder.gauge('onlineDrivers', 10, 1);
    recorder.gauge('onlineDrivers', 12, 9);
    recorder.gauge('surge', 1.4, 25);
    recorder.gauge('surge', 1.1, 27);
    const { series } = recorder.summary(40);
    expect(series.onlineDrivers).toEqual([12, null, null, null]);
    expect(series.surge).toEqual([null, null, 1.4, null]);
  });

  it('When a run goes past its expected length, then the buckets grow with it', () => {
    const recorder = createRecorder({ bucketSeconds: 1, expectedSeconds: 10, now: () => 0 });
    for (let second = 0; second < 5000; second++) recorder.outcome('requested', second + 0.5);
    const { series } = recorder.summary();
    expect(series.t).toHaveLength(5000);
    expect(series.outcomes.requested.every((n) => n === 1)).toBe(true);
  });
});

describe('the report', () => {
  const recorder = sampleRun();
  const lost = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'];
  const report = buildReport(
    recorder,
    facts({
      invariants: {
        lostBookings: lost,
        doubleAssignments: [{ driverId: 'd1', rideIds: ['r8', 'r9'] }],
        stuckRides: [],
      },
    }),
    verdicts,
  );

  it('When a report is built, then every field is there with the right type', () => {
    expect(report).toMatchObject({
      version: 1,
      scenario: 'flash-peak',
      seed: 42,
      durationSeconds: 600,
      wallSeconds: 61.5,
      speed: 10,
      scale: 1,
      target: 'http://127.0.0.1:3000',
      embedded: true,
      startsAt: '23:55',
      city: 'paris',
    });
    expect(report.achievedSpeed).toBeCloseTo(600 / 61.5, 9);
    expect(Object.keys(report.bookings).sort()).toEqual([...rideOutcomes].sort());
    for (const value of Object.values(report.bookings)) expect(value).toEqual(expect.any(Number));
    expect(report.bookings).toMatchObject({ walkedAway: 1, cancelled: 1, completed: 1, failed: 1 });
    expect(report.bookings.requested).toBe(480 * 2 + 120 * 10);
    expect(report.bookings.created).toBe(report.bookings.requested);
    expect(report.bookings.matched + report.bookings.expired).toBe(report.bookings.created);

    for (const kind of requestClasses) {
      const latency = report.latencyMs[kind];
      expect(Object.keys(latency).sort()).toEqual(['count', 'max', 'p50', 'p90', 'p99']);
      for (const key of ['p50', 'p90', 'p99', 'max'] as const)
        expect(latency.count > 0 ? typeof latency[key] : latency[key]).toBe(
          latency.count > 0 ? 'number' : null,
        );
      expect(report.shed.byClass[kind]).toEqual({ count: expect.any(Number), share: expect.any(Number) });
    }
    expect(report.latencyMs.booking).toMatchObject({ count: 2160 });
    expect(report.latencyMs.booking.max).toBeCloseTo(49, 6);
    expect(report.latencyMs.lifecycle).toEqual({ count: 0, p50: null, p90: null, p99: null, max: null });
    expect(report.timeToMatchSeconds).toEqual({
      count: 2160,
      p50: expect.any(Number),
      p95: expect.any(Number),
      max: expect.any(Number),
    });
    expect(report.timeToMatchSeconds.max).toBeCloseTo(29, 6);

    // Every third quote in the two peak minutes was shed: 120 s × 4.
    expect(report.shed.byClass.quote.count).toBe(480);
    expect(report.shed.byClass.quote.share).toBeCloseTo(480 / (480 * 2 + 120 * 10), 9);
    expect(report.shed.count).toBe(480);
    expect(report.shed.share).toBeGreaterThan(0);
    expect(report.errors).toEqual({ '0': 1, '409': 12, '500': 1 });

    expect(report.slo).toHaveLength(2);
    expect(report.slo[0]).toMatchObject({
      name: 'booking-availability',
      met: true,
      value: 0.9995,
      budgetSpent: 0.5,
    });
    expect(report.invariants.lostBookings).toEqual({ count: 7, first: ['r1', 'r2', 'r3', 'r4', 'r5'] });
    expect(report.invariants.doubleAssignments).toEqual({
      count: 1,
      first: [{ driverId: 'd1', rideIds: ['r8', 'r9'] }],
    });
    expect(report.invariants.stuckRides).toEqual({ count: 0, first: [] });
    expect(report.verdict).toEqual({ invariantsHeld: false, sloMet: false, sloEvaluated: true });

    const { series } = report;
    expect(series.bucketSeconds).toBe(30);
    expect(series.t).toHaveLength(20);
    const columns = [
      ...Object.values(series.requests),
      ...Object.values(series.responses),
      ...Object.values(series.shed),
      ...Object.values(series.outcomes),
      ...Object.values(series.latencyMs).flatMap((l) => [l.p50, l.p90, l.p99]),
      series.timeToMatchSeconds.p50,
      series.timeToMatchSeconds.p95,
      series.onlineDrivers,
      series.surge,
    ];
    for (const column of columns) expect(column).toHaveLength(20);
    expect(series.surge[11]).toBe(1.8);
    expect(series.onlineDrivers[0]).toBe(150 + 29);
    expect(series.timeToMatchSeconds.p95[12]!).toBeGreaterThan(20);
    // The whole report survives JSON: no NaN, no Infinity, no undefined.
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('When no objective could be evaluated and the invariants held, then the verdict says so', () => {
    const clean = buildReport(sampleRun(), facts(), []);
    expect(clean.verdict).toEqual({ invariantsHeld: true, sloMet: true, sloEvaluated: false });
    expect(formatSummary(clean)).toContain('SLOs not evaluated');
  });

  it('When the summary is formatted, then it holds the key numbers in under 100 columns and no colours unless asked', () => {
    const summary = formatSummary(report);
    for (const line of summary.split('\n')) expect(line.length).toBeLessThan(100);
    expect(summary).not.toContain(ESC);
    expect(summary).toContain('flash-peak');
    expect(summary).toContain('seed 42');
    expect(summary).toMatch(/FAIL/);
    expect(summary).toContain('INVARIANTS BROKEN');
    expect(summary).toContain('SLOs MISSED (1/2 met)');
    expect(summary).toContain(report.bookings.requested.toLocaleString('en-US'));
    expect(summary).toContain('480 (22.2%)');
    expect(summary).toMatch(/booking-availability\s+99\.9%\s+99\.950%\s+50%/);
    expect(summary).toMatch(/time-to-match\s+95%\s+90\.000%\s+200%.*MISSED/);
    expect(summary).toContain('lost bookings 7');
    expect(summary).toContain('lost: r1, r2, r3, r4, r5');
    expect(summary).toContain('driver d1 held r8, r9');
    expect(summary).toMatch(/no answer ×1/);
    expect(summary).toMatch(/409 ×12/);
    expect(summary).toMatch(/the target restarted during the run/);
    const coloured = formatSummary(report, { color: true });
    expect(coloured).toContain(`${ESC}[31mFAIL`);
    for (const line of coloured
      .split(ESC)
      .join('')
      .replace(/\[[0-9;]*m/g, '')
      .split('\n'))
      expect(line.length).toBeLessThan(100);
  });
});

describe('report.html', () => {
  const report = buildReport(stalledRun().recorder, facts(), verdicts);
  const html = renderReportHtml(report);
  const uplotScript = readFileSync(
    createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'),
    'utf8',
  );

  it('When the page is rendered, then uPlot’s code and styles are inlined and nothing is loaded from the network', () => {
    expect(html).toContain(uplotScript);
    expect(html).toContain('.uplot');
    expect(html).not.toMatch(/\b(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=/i);
    expect(html).toContain("default-src 'none'");
  });

  it('When the page is rendered, then its title carries the scenario, seed and verdict, with a chart for each series', () => {
    expect(html).toMatch(/<title>peakride sim · flash-peak · seed 42 · FAIL<\/title>/);
    for (const id of [
      'demand',
      'drivers',
      'matching',
      'time-to-match',
      'latency-booking',
      'latency-quote',
      'latency-location',
      'shed',
      'errors',
      'surge',
    ])
      expect(html).toContain(`id="chart-${id}"`);
    expect(html).toContain('booking-availability');
    expect(html).toContain('Lost bookings');
  });

  it('When the scenario’s name contains </script>, then the data block cannot be closed early and still holds the name', () => {
    const hostile = '</script><script>alert(1)</script><!-- "quoted" & <b>';
    const page = renderReportHtml({ ...report, scenario: hostile, description: hostile });
    // Three script elements: the data, uPlot and the charts; no other `</script` anywhere.
    expect(page.match(/<\/script/gi)).toHaveLength(3);
    expect(page).not.toContain('<script>alert(1)');
    const block = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(page)?.[1];
    expect((JSON.parse(block!) as Report).scenario).toBe(hostile);
    expect(page).toContain('&#60;/script&#62;&#60;script&#62;alert(1)');
  });

  it('When report.json and report.html are written, then both exist and the JSON reads back as the report', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peakride-report-'));
    try {
      const files = await writeReport(join(dir, 'nested', 'out'), report);
      expect(files.json).toMatch(/report\.json$/);
      expect(files.html).toMatch(/report\.html$/);
      expect(JSON.parse(await readFile(files.json, 'utf8'))).toEqual(report);
      expect(await readFile(files.html, 'utf8')).toBe(renderReportHtml(report));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** The few calls of playwright-core this test makes, typed here: it is loaded only when installed. */
interface BrowserPage {
  on(event: 'console' | 'pageerror' | 'request', listener: (arg: never) => void): void;
  goto(url: string): Promise<unknown>;
  waitForFunction(expression: string, arg?: unknown, options?: { timeout: number }): Promise<unknown>;
  evaluate<T>(expression: string): Promise<T>;
}
interface PlaywrightCore {
  chromium: {
    launch(options: { executablePath: string; args: string[] }): Promise<{
      newPage(options?: { viewport: { width: number; height: number } }): Promise<BrowserPage>;
      close(): Promise<void>;
    }>;
  };
}

const CHROMIUM = '/usr/bin/chromium';

describe('report.html in a browser', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peakride-report-browser-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('When the written page is opened in Chromium, then every chart draws a canvas and nothing is logged as an error', async (context) => {
    if (!existsSync(CHROMIUM))
      context.skip(`${CHROMIUM} is missing (apt-get install chromium): browser check skipped`);
    let playwright: PlaywrightCore;
    try {
      // A variable specifier: the suite type-checks and runs without playwright-core installed.
      const specifier = 'playwright-core';
      playwright = (await import(specifier)) as PlaywrightCore;
    } catch {
      return context.skip(
        'playwright-core is not installed (npm install --save-dev playwright-core): browser check skipped',
      );
    }
    // A full run, and one where only bookings were sent: its quote and location charts have no
    // data at all, on a log scale, which must still draw.
    const pages = [
      await writeReport(join(dir, 'full'), buildReport(sampleRun(), facts(), verdicts)),
      await writeReport(join(dir, 'sparse'), buildReport(stalledRun().recorder, facts(), [])),
    ];
    const browser = await playwright.chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      for (const { html } of pages) {
        const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
        const problems: string[] = [];
        const requests: string[] = [];
        page.on('console', (message: { type(): string; text(): string }) => {
          if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
        });
        page.on('pageerror', (error: Error) => problems.push(error.message));
        page.on('request', (request: { url(): string }) => requests.push(request.url()));
        await page.goto(pathToFileURL(html).href);
        await page.waitForFunction(
          "document.querySelectorAll('.chart canvas').length >= document.querySelectorAll('.chart > div[id]').length",
          undefined,
          { timeout: 10_000 },
        );
        const charts = await page.evaluate<Array<{ id: string; canvases: number; width: number }>>(
          "[...document.querySelectorAll('.chart > div[id]')].map((el) => ({ id: el.id, canvases: el.querySelectorAll('canvas').length, width: el.querySelector('canvas') ? el.querySelector('canvas').width : 0 }))",
        );
        expect(charts.length).toBeGreaterThanOrEqual(10);
        for (const chart of charts) {
          expect(chart.canvases, `${html} ${chart.id}`).toBe(1);
          expect(chart.width, `${html} ${chart.id}`).toBeGreaterThan(200);
        }
        expect(problems, html).toEqual([]);
        expect(requests.filter((url) => !url.startsWith('file:') && !url.startsWith('data:'))).toEqual([]);
      }
    } finally {
      await browser.close();
    }
  });
});

describe('the progress line', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const progressFacts = (simulatedSeconds: number): ProgressFacts => ({
    scenario,
    simulatedSeconds,
    durationSeconds: 600,
    wallSeconds: 65,
    live: { windowSeconds: 5, requestsPerSecond: 5234.4, p99Ms: 38.2, matched: 12, shed: 3, errors: 0 },
    totals: {
      requests: 100_000,
      shed: 340,
      errors: 2,
      outcomes: {
        requested: 1250,
        walkedAway: 3,
        created: 1240,
        matched: 1203,
        expired: 4,
        cancelled: 1,
        completed: 900,
        failed: 2,
      },
    },
  });

  /** A stream that keeps what is written; `columns` as a terminal reports it. */
  const fakeStream = (isTTY: boolean) => {
    const writes: string[] = [];
    const stream = { isTTY, columns: 100, write: (chunk: string) => writes.push(chunk) > 0 };
    return { stream: stream as unknown as NodeJS.WriteStream, writes };
  };

  it('When the scenario starts at 23:55, then the clock shows its time of day and wraps past midnight', () => {
    expect(timeOfDay('23:55', 0)).toBe('23:55:00');
    expect(timeOfDay('23:55', 301.7)).toBe('00:00:01');
    expect(timeOfDay('07:30', 3600 * 24 + 65)).toBe('07:31:05');
  });

  it('When the line is formatted, then it shows the clock, wall time, rate, p99, bookings, shed and errors', () => {
    expect(formatProgress(progressFacts(330))).toBe(
      '00:00:30 55% · wall 01:05 · 5,234 req/s · p99 38 ms · matched 1,203/1,250 · shed 340 · errors 2',
    );
  });

  it('When the stream is a terminal, then one line is rewritten every 500 ms and stop() clears it', () => {
    vi.useFakeTimers();
    const { stream, writes } = fakeStream(true);
    let ticks = 0;
    const progress = createProgress(stream, () => progressFacts(++ticks));
    vi.advanceTimersByTime(1600);
    expect(writes).toHaveLength(3);
    for (const write of writes) {
      expect(write.startsWith('\r\x1b[2K')).toBe(true);
      expect(write).not.toContain('\n');
      expect(write.length - 5).toBeLessThan(100);
    }
    progress.stop();
    expect(writes.at(-1)).toBe('\r\x1b[2K');
    vi.advanceTimersByTime(5000);
    expect(writes).toHaveLength(4);
  });

  it('When the stream is not a terminal (a CI log), then a plain line is printed every 10 s', () => {
    vi.useFakeTimers();
    const { stream, writes } = fakeStream(false);
    const progress = createProgress(stream, () => progressFacts(60));
    vi.advanceTimersByTime(25_000);
    progress.stop();
    expect(writes).toHaveLength(2);
    for (const write of writes) {
      expect(write).toMatch(/^23:56:00 10% · .* errors 2\n$/);
      expect(write).not.toContain('\r');
      expect(write).not.toContain(ESC);
    }
  });
});
