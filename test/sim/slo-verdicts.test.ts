import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadObjectives, type Objectives } from '../../src/ops/slo/objectives.js';
import {
  matches,
  PrometheusTextError,
  parsePrometheusText,
  parseSelector,
  type Sample,
} from '../../src/sim/report/prometheus-text.js';
import { evaluateObjectives, type SloVerdict } from '../../src/sim/report/slo.js';

const objectivesFile = fileURLToPath(new URL('../../slo/objectives.yaml', import.meta.url));

/** What the hand-checked numbers below assume of slo/objectives.yaml. */
const expectedTargets = {
  'booking-availability': 0.999,
  'booking-latency': 0.99,
  'quote-availability': 0.99,
  'time-to-match': 0.95,
};

interface Counts {
  startedAt: number;
  rides201: number;
  rides409: number;
  rides500: number;
  rides503: number;
  /** Bookings answered within 300 ms (the le="0.3" bucket). */
  ridesFast: number;
  quotes200: number;
  /** Quotes shed. */
  quotes503: number;
  /** 5xx on other routes: must not count against the booking objectives. */
  cancel500: number;
  read500: number;
  parisWithin60: number;
  parisMatched: number;
  londonWithin60: number;
  londonMatched: number;
  parisExpired: number;
  londonExpired: number;
}

/**
 * A /metrics page as prom-client writes it for the series the objectives read (bucket bound
 * first among the labels, HELP and TYPE lines, blank lines between families), plus a few
 * series they must not read.
 */
const scrape = (c: Counts) => {
  const rides = c.rides201 + c.rides409 + c.rides500 + c.rides503;
  const bookingBuckets = [
    ['0.005', 0],
    ['0.01', Math.floor(c.ridesFast / 4)],
    ['0.025', Math.floor(c.ridesFast / 2)],
    ['0.05', c.ridesFast],
    ['0.1', c.ridesFast],
    ['0.15', c.ridesFast],
    ['0.2', c.ridesFast],
    ['0.3', c.ridesFast],
    ['0.5', rides],
    ['0.75', rides],
    ['1', rides],
    ['2.5', rides],
    ['5', rides],
    ['+Inf', rides],
  ] as const;
  const matchBuckets = (within60: number, matched: number) =>
    [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300]
      .map(
        (le) =>
          [String(le), le < 60 ? Math.floor((within60 * le) / 60) : le === 60 ? within60 : matched] as const,
      )
      .concat([['+Inf', matched]]);
  return `# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds ${c.startedAt}

# HELP http_requests_total HTTP requests answered, by method, route template and status code
# TYPE http_requests_total counter
http_requests_total{method="POST",route="/v1/quotes",status="200"} ${c.quotes200}
http_requests_total{method="POST",route="/v1/quotes",status="503"} ${c.quotes503}
http_requests_total{method="POST",route="/v1/rides",status="201"} ${c.rides201}
http_requests_total{method="POST",route="/v1/rides",status="409"} ${c.rides409}
http_requests_total{method="POST",route="/v1/rides",status="500"} ${c.rides500}
http_requests_total{method="POST",route="/v1/rides",status="503"} ${c.rides503}
http_requests_total{method="POST",route="/v1/rides/:id/cancel",status="500"} ${c.cancel500}
http_requests_total{method="GET",route="/v1/rides/:id",status="500"} ${c.read500}

# HELP http_request_duration_seconds Time to answer an HTTP request, by method and route template
# TYPE http_request_duration_seconds histogram
${bookingBuckets.map(([le, n]) => `http_request_duration_seconds_bucket{le="${le}",method="POST",route="/v1/rides"} ${n}`).join('\n')}
http_request_duration_seconds_sum{method="POST",route="/v1/rides"} ${(rides * 0.04).toFixed(3)}
http_request_duration_seconds_count{method="POST",route="/v1/rides"} ${rides}
http_request_duration_seconds_bucket{le="0.3",method="POST",route="/v1/quotes"} 8000
http_request_duration_seconds_count{method="POST",route="/v1/quotes"} 9000

# HELP peakride_rides_expired_total Rides whose search window passed with no driver, by city
# TYPE peakride_rides_expired_total counter
peakride_rides_expired_total{city="paris"} ${c.parisExpired}
peakride_rides_expired_total{city="london"} ${c.londonExpired}

# HELP peakride_time_to_match_seconds Time from a ride starting to search to a driver accepting it, by city
# TYPE peakride_time_to_match_seconds histogram
${matchBuckets(c.parisWithin60, c.parisMatched)
  .map(([le, n]) => `peakride_time_to_match_seconds_bucket{le="${le}",city="paris"} ${n}`)
  .join('\n')}
peakride_time_to_match_seconds_sum{city="paris"} ${c.parisMatched * 20}
peakride_time_to_match_seconds_count{city="paris"} ${c.parisMatched}
${matchBuckets(c.londonWithin60, c.londonMatched)
  .map(([le, n]) => `peakride_time_to_match_seconds_bucket{le="${le}",city="london"} ${n}`)
  .join('\n')}
peakride_time_to_match_seconds_sum{city="london"} ${c.londonMatched * 20}
peakride_time_to_match_seconds_count{city="london"} ${c.londonMatched}
`;
};

/** The start of a run on a target that already served traffic. */
const start: Counts = {
  startedAt: 1_767_000_000,
  rides201: 500,
  rides409: 20,
  rides500: 0,
  rides503: 0,
  ridesFast: 515,
  quotes200: 9000,
  quotes503: 0,
  cancel500: 3,
  read500: 1,
  parisWithin60: 300,
  parisMatched: 310,
  londonWithin60: 100,
  londonMatched: 100,
  parisExpired: 5,
  londonExpired: 0,
};

/** `start` plus what happened during the run. */
const plus = (base: Counts, delta: Partial<Counts>): Counts => {
  const next = { ...base };
  for (const [key, value] of Object.entries(delta) as Array<[keyof Counts, number]>) next[key] += value;
  return next;
};

/**
 * A healthy run, every objective exactly at or inside its budget:
 * - bookings: 1,958 + 40 + 1 + 1 = 2,000 events, 2 of them 5xx: budget 0.001 × 2,000 = 2, spent 1;
 * - latency: 1,990 of 2,000 within 300 ms: 10 bad, budget 20, spent 0.5;
 * - quotes: 3,000 asked, 30 shed: budget 0.01 × 3,000 = 30, spent 1;
 * - matching: paris 760 of 780 within 60 s plus 20 expired, london 190 of 200: 1,000 events,
 *   950 good, 50 bad, budget 0.05 × 1,000 = 50, spent 1.
 */
const healthy = {
  rides201: 1958,
  rides409: 40,
  rides500: 1,
  rides503: 1,
  ridesFast: 1990,
  quotes200: 2970,
  quotes503: 30,
  cancel500: 50,
  read500: 70,
  parisWithin60: 760,
  parisMatched: 780,
  parisExpired: 20,
  londonWithin60: 190,
  londonMatched: 200,
};

const byName = (verdicts: SloVerdict[]) =>
  Object.fromEntries(verdicts.map((verdict) => [verdict.name, verdict]));

describe('SLO verdicts of a run', () => {
  let objectives: Objectives;
  beforeAll(async () => {
    objectives = await loadObjectives(objectivesFile);
  });

  it('When the SLO file is read, then its targets are the ones the arithmetic of these tests assumes', () => {
    expect(Object.fromEntries(objectives.objectives.map((o) => [o.name, o.target]))).toEqual(expectedTargets);
  });

  it('When every objective stays within its budget, then each is met with the share and budget spent worked out by hand', () => {
    const verdicts = byName(evaluateObjectives(objectives, scrape(start), scrape(plus(start, healthy))));

    const availability = verdicts['booking-availability']!;
    expect(availability).toMatchObject({ met: true, events: 2000, bad: 2, target: 0.999 });
    expect(availability.value).toBeCloseTo(0.999, 12);
    expect(availability.budgetSpent).toBeCloseTo(1, 9);

    const latency = verdicts['booking-latency']!;
    expect(latency).toMatchObject({ met: true, events: 2000, bad: 10 });
    expect(latency.value).toBeCloseTo(0.995, 12);
    expect(latency.budgetSpent).toBeCloseTo(0.5, 9);

    const quotes = verdicts['quote-availability']!;
    expect(quotes).toMatchObject({ met: true, events: 3000, bad: 30 });
    expect(quotes.value).toBeCloseTo(0.99, 12);
    expect(quotes.budgetSpent).toBeCloseTo(1, 9);

    const match = verdicts['time-to-match']!;
    expect(match).toMatchObject({ met: true, events: 1000, bad: 50 });
    expect(match.value).toBeCloseTo(0.95, 12);
    expect(match.budgetSpent).toBeCloseTo(1, 9);
    for (const verdict of Object.values(verdicts)) expect(verdict.notes).toEqual([]);
  });

  it('When bookings and quotes are shed and rides expire, then those objectives are missed and the budget spent says by how much', () => {
    const bad = {
      ...healthy,
      rides503: 6,
      rides201: 1953,
      parisExpired: 120,
      quotes200: 1500,
      quotes503: 1500,
    };
    const verdicts = byName(evaluateObjectives(objectives, scrape(start), scrape(plus(start, bad))));

    // 2,000 bookings, 1 + 6 = 7 of them 5xx: 7 / (0.001 × 2,000) = 3.5 budgets.
    expect(verdicts['booking-availability']).toMatchObject({ met: false, events: 2000, bad: 7 });
    expect(verdicts['booking-availability']!.budgetSpent).toBeCloseTo(3.5, 9);
    expect(verdicts['booking-availability']!.value).toBeCloseTo(0.9965, 12);
    // 780 + 120 + 200 = 1,100 events, 950 good: 150 / (0.05 × 1,100) = 2.7272…
    expect(verdicts['time-to-match']).toMatchObject({ met: false, events: 1100, bad: 150 });
    expect(verdicts['time-to-match']!.budgetSpent).toBeCloseTo(150 / 55, 9);
    // Half the quotes shed: 1,500 / (0.01 × 3,000) = 50 budgets.
    expect(verdicts['quote-availability']).toMatchObject({ met: false, events: 3000, bad: 1500 });
    expect(verdicts['quote-availability']!.budgetSpent).toBeCloseTo(50, 9);
    // Latency is judged on its own: still 10 slow of 2,000.
    expect(verdicts['booking-latency']).toMatchObject({ met: true, bad: 10 });
  });

  it('When one more bad event than the budget allows happens, then the objective is missed', () => {
    const verdicts = byName(
      evaluateObjectives(
        objectives,
        scrape(start),
        scrape(plus(start, { ...healthy, rides201: 1957, rides500: 2 })),
      ),
    );
    expect(verdicts['booking-availability']).toMatchObject({ met: false, bad: 3, events: 2000 });
    expect(verdicts['booking-availability']!.budgetSpent).toBeCloseTo(1.5, 9);
  });

  it('When the target restarted during the run (its counters went down), then the values after the restart are the run and a note says so', () => {
    // A busy target before the run; after its restart (same start time: a target that does not
    // export it) it counted from 0 again, so the counters went down.
    const busy = { ...start, rides201: 5000, ridesFast: 5015, parisWithin60: 3000, parisMatched: 3100 };
    const zero = Object.fromEntries(Object.keys(start).map((key) => [key, 0])) as unknown as Counts;
    const after = plus({ ...zero, startedAt: start.startedAt }, healthy);
    const verdicts = byName(evaluateObjectives(objectives, scrape(busy), scrape(after)));
    expect(verdicts['booking-availability']).toMatchObject({ met: true, events: 2000, bad: 2 });
    expect(verdicts['time-to-match']).toMatchObject({ events: 1000, bad: 50 });
    for (const verdict of Object.values(verdicts)) {
      expect(verdict.notes.join(' ')).toMatch(/restarted during the run .*went down/);
      expect(verdict.notes.join(' ')).toMatch(/since the restart/);
    }
  });

  it('When the process start time changed although every counter grew, then it is still a restart and the values after it are the run', () => {
    // Restarted, then served more than before the restart: no counter went down.
    const after = { ...plus(start, { ...healthy, rides201: 1958 + 500 }), startedAt: start.startedAt + 600 };
    const verdicts = byName(evaluateObjectives(objectives, scrape(start), scrape(after)));
    // Every series counts from 0 at the restart: the after values themselves.
    expect(verdicts['booking-availability']!.events).toBe(500 + 1958 + 500 + 20 + 40 + 2);
    expect(verdicts['booking-availability']!.notes[0]).toMatch(
      /process_start_time_seconds went from 1767000000 to 1767000600/,
    );
  });

  it('When nothing happened between the scrapes, then every objective has no events: met, no value, no budget spent, and a note', () => {
    const verdicts = evaluateObjectives(objectives, scrape(start), scrape(start));
    for (const verdict of verdicts) {
      expect(verdict).toMatchObject({ met: true, value: null, events: 0, bad: 0, budgetSpent: null });
      expect(verdict.notes).toContain('no events during the run: nothing to judge, no budget spent.');
    }
  });

  it('When the target exports no series an objective reads, then it counts as no events and the note names the selector', () => {
    const verdicts = byName(evaluateObjectives(objectives, '', '# nothing here\n'));
    expect(verdicts['time-to-match']!.notes).toContain(
      'peakride_rides_expired_total: no series matches it on the target: counted as 0.',
    );
    expect(verdicts['time-to-match']!.value).toBeNull();
  });

  it('When the first scrape is empty (an embedded server that just started), then the series count from 0', () => {
    const verdicts = byName(evaluateObjectives(objectives, '', scrape(plus(start, healthy))));
    // 500 + 20 before the run plus the run's 2,000: everything the process ever answered.
    expect(verdicts['booking-availability']).toMatchObject({ events: 2520, bad: 2 });
  });
});

describe('the exposition parser', () => {
  it('When a page has HELP and TYPE lines, timestamps, +Inf, -Inf, NaN and a trailing comma, then every sample is read', () => {
    const samples = parsePrometheusText(
      [
        '# HELP a_total A counter with "quotes" and \\\\ in its help',
        '# TYPE a_total counter',
        'a_total 3',
        '',
        'b{le="+Inf",x="1",} 7 1712345678901',
        'c +Inf',
        'd{} -Inf',
        'e NaN',
        'f 1.5e3',
        '  g{path="C:\\\\dir\\"x\\"",note="two\\nlines"}\t4',
        '# EOF',
      ].join('\n'),
    );
    const by = Object.fromEntries(samples.map((sample) => [sample.name, sample]));
    expect(samples.map((sample) => sample.name)).toEqual(['a_total', 'b', 'c', 'd', 'e', 'f', 'g']);
    expect(by.b).toEqual({ name: 'b', labels: { le: '+Inf', x: '1' }, value: 7, timestampMs: 1712345678901 });
    expect(by.c!.value).toBe(Number.POSITIVE_INFINITY);
    expect(by.d!.value).toBe(Number.NEGATIVE_INFINITY);
    expect(by.e!.value).toBeNaN();
    expect(by.f!.value).toBe(1500);
    expect(by.g!.labels).toEqual({ path: 'C:\\dir"x"', note: 'two\nlines' });
    expect(by.g!.value).toBe(4);
  });

  it('When a line is broken, then the error names the line', () => {
    expect(() => parsePrometheusText('ok 1\nbroken{a="1" 2\n')).toThrow(PrometheusTextError);
    expect(() => parsePrometheusText('ok 1\nbroken{a="1" 2\n')).toThrow(/metrics line 2/);
    expect(() => parsePrometheusText('x 0x1f\n')).toThrow(/not a sample value/);
    expect(() => parsePrometheusText('x{a="\\t"} 1\n')).toThrow(/unknown escape/);
  });
});

describe('selectors', () => {
  const sample = (labels: Record<string, string>, name = 'm'): Sample => ({ name, labels, value: 1 });

  it('When a regex matcher is used, then it is anchored at both ends as in Prometheus', () => {
    const fiveHundreds = parseSelector('m{status=~"5.."}');
    expect(matches(fiveHundreds, sample({ status: '503' }))).toBe(true);
    expect(matches(fiveHundreds, sample({ status: '5030' }))).toBe(false);
    expect(matches(fiveHundreds, sample({ status: '1503' }))).toBe(false);
    expect(matches(parseSelector('m{status=~"5"}'), sample({ status: '503' }))).toBe(false);
  });

  it('When the time-to-match bound is matched as the SLO file writes it, then "60" and "60.0" match and "600" does not', () => {
    // The YAML in slo/objectives.yaml holds `le=~"60(\\.0)?"`: a PromQL string whose value is 60(\.0)?.
    const bound = parseSelector('peakride_time_to_match_seconds_bucket{le=~"60(\\\\.0)?"}');
    const bucket = (le: string) => sample({ le }, 'peakride_time_to_match_seconds_bucket');
    expect(matches(bound, bucket('60'))).toBe(true);
    expect(matches(bound, bucket('60.0'))).toBe(true);
    expect(matches(bound, bucket('600'))).toBe(false);
    expect(matches(bound, bucket('6000'))).toBe(false);
    expect(matches(bound, sample({ le: '60' }, 'other_metric'))).toBe(false);
  });

  it('When negative matchers are used, then != and !~ exclude, and a missing label matches as empty', () => {
    expect(matches(parseSelector('m{route!="/v1/rides"}'), sample({ route: '/v1/quotes' }))).toBe(true);
    expect(matches(parseSelector('m{route!="/v1/rides"}'), sample({ route: '/v1/rides' }))).toBe(false);
    expect(matches(parseSelector('m{status!~"2..|4.."}'), sample({ status: '503' }))).toBe(true);
    expect(matches(parseSelector('m{status!~"2..|4.."}'), sample({ status: '404' }))).toBe(false);
    expect(matches(parseSelector('m{city=""}'), sample({}))).toBe(true);
    expect(matches(parseSelector('m{city=""}'), sample({ city: 'paris' }))).toBe(false);
  });

  it('When a matcher value holds escaped quotes and backslashes, then it matches the label value they stand for', () => {
    const [exposed] = parsePrometheusText('m{path="C:\\\\dir\\"x\\""} 1\n');
    expect(matches(parseSelector('m{path="C:\\\\dir\\"x\\""}'), exposed!)).toBe(true);
    expect(matches(parseSelector('m{path=\'C:\\\\dir"x"\'}'), exposed!)).toBe(true);
    expect(matches(parseSelector('m{path=`C:\\dir"x"`}'), exposed!)).toBe(true);
    expect(matches(parseSelector('m{path="C:\\\\dir"}'), exposed!)).toBe(false);
  });

  it('When a selector is not a plain selector, then parsing fails with the reason', () => {
    expect(() => parseSelector('rate(m[5m])')).toThrow(/functions, ranges and offsets/);
    expect(() => parseSelector('m{a=~"("}')).toThrow(/bad regex/);
    expect(() => parseSelector('m{a~"x"}')).toThrow(/expected a matcher/);
    expect(() => parseSelector('{a=""}')).toThrow(/metric name/);
  });
});
