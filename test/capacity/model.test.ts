import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CLASS_COUNT, capacityClasses, classIndex } from '../../src/capacity/classes.js';
import { runCluster } from '../../src/capacity/cluster.js';
import { costsOf } from '../../src/capacity/costs.js';
import { createDemand } from '../../src/capacity/demand.js';
import { parseHpaManifest } from '../../src/capacity/hpa-manifest.js';
import { exceedance, latencyModelOf, latencyQuantile } from '../../src/capacity/latency.js';
import { defaultParameters, type ModelParameters } from '../../src/capacity/parameters.js';
import { PodCapacityFileError, parsePodCapacity } from '../../src/capacity/pod-capacity.js';
import { applyCandidate, recommend, scaleUpChoices } from '../../src/capacity/recommend.js';
import { runServerless } from '../../src/capacity/serverless.js';
import { planObjectives } from '../../src/capacity/slo.js';
import { parseObjectives } from '../../src/ops/slo/objectives.js';
import { loadScenario } from '../../src/sim/scenario.js';

const read = (name: string) => readFile(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const capacity = parsePodCapacity(JSON.parse(await read('pod-capacity.json')), 'pod-capacity.json');
const costs = costsOf(capacity);
const hpa = parseHpaManifest(await read('api-hpa.yaml'), 'api-hpa.yaml').spec;
const objectives = parseObjectives(
  await readFile(new URL('../../slo/objectives.yaml', import.meta.url), 'utf8'),
  'slo/objectives.yaml',
);
const plans = planObjectives(objectives);
const flashPeak = await loadScenario('flash-peak');
const strikeDay = await loadScenario('strike-day');
const parameters = (overrides: Partial<ModelParameters> = {}): ModelParameters => ({
  ...defaultParameters,
  ...overrides,
});

describe('the demand a scenario sends', () => {
  it('When the strike day runs, then each online driver reports every 4 s and each ride request asks one quote, then books', () => {
    const demand = createDemand({ scenario: strikeDay }, parameters());
    const rates = new Float64Array(CLASS_COUNT);
    const at = 8 * 3600; // the morning rush: 4x, 90% of 1,200 drivers online
    for (let t = 0; t <= at; t++) {
      demand.offered(t, rates);
      demand.settle(t, { quoteRefused: 0, bookingFailed: 0 });
    }
    expect(rates[classIndex.location]).toBeCloseTo((1200 * 0.9) / 4, 5);
    expect(rates[classIndex.quote]).toBeCloseTo((30 / 60) * 4, 5);
    expect(rates[classIndex.booking]).toBeCloseTo((30 / 60) * 4, 1);
    expect(rates[classIndex.read]).toBe(0);
    const totals = demand.totals();
    expect(totals.booked).toBeCloseTo(totals.requested, -1);
    // Drivers are short all rush long: some rides expire, the matched ones call arrive, start and complete.
    expect(totals.matched).toBeGreaterThan(0);
    expect(totals.expired).toBeGreaterThan(0);
    expect(rates[classIndex.lifecycle]).toBeGreaterThan(0);
  });

  it('When apps poll instead of holding a WebSocket, then ride reads and offer polls appear', () => {
    const demand = createDemand({ scenario: strikeDay }, parameters({ clients: 'polling' }));
    const rates = new Float64Array(CLASS_COUNT);
    for (let t = 0; t <= 3600; t++) {
      demand.offered(t, rates);
      demand.settle(t, { quoteRefused: 0, bookingFailed: 0 });
    }
    expect(rates[classIndex.offerPoll]).toBeCloseTo((1200 * 0.3) / 2, 5);
    expect(rates[classIndex.read]).toBeGreaterThan(0);
    expect(rates[classIndex.realtime]).toBe(0);
  });

  it('When every quote is refused, then riders ask again after Retry-After, three times, then walk away', () => {
    const demand = createDemand({ scenario: flashPeak }, parameters());
    const rates = new Float64Array(CLASS_COUNT);
    for (let t = 0; t < 60; t++) {
      demand.offered(t, rates);
      demand.settle(t, { quoteRefused: 1, bookingFailed: 0 });
    }
    expect(rates[classIndex.quote]).toBeCloseTo(3 * (30 / 60), 5);
    expect(demand.totals().booked).toBe(0);
    expect(demand.totals().walkedAway).toBeGreaterThan(0);
  });
});

describe('the latency model', () => {
  it('When the pod is idle, then the p99 is the measured light-load p99; with load it is calibrated to the measured points', () => {
    for (const kind of ['quote', 'booking', 'location', 'read'] as const) {
      const measured = capacity.classes[kind];
      const model = latencyModelOf(measured);
      expect(latencyQuantile(model, 0, 0)).toBeCloseTo(measured.latencyMs.p99, 0);
      for (const point of measured.points) {
        // One τ for both points: within a factor of 2 of each.
        const p99 = latencyQuantile(model, point.utilization, 0);
        expect(p99 / point.p99Ms).toBeGreaterThan(0.5);
        expect(p99 / point.p99Ms).toBeLessThan(2);
      }
      expect(exceedance(model, 0.5, 0, 1e6)).toBeLessThan(1e-6);
      expect(exceedance(model, 0.5, 500, 100)).toBe(1);
    }
  });
});

describe('the replays', () => {
  it('When a flash peak of 20x arrives within 10 s, then the HPA adds pods after it, the pods shed quotes meanwhile, bookings are never shed', () => {
    const run = runCluster({ scenario: flashPeak }, parameters({ scale: 150 }), hpa, capacity, costs, plans, {
      series: true,
    });
    expect(run.totals.peakReplicas).toBeGreaterThan(hpa.minReplicas);
    expect(run.totals.shed).toBeGreaterThan(0);
    const peak = run.series.find((point) => point.t >= 130 && point.t < 145)!;
    expect(peak.shedShare).toBeGreaterThan(0);
    expect(peak.utilization).toBeGreaterThan(0.8);
    const booking = run.slo.find((slo) => slo.name === 'booking-availability')!;
    expect(booking).toMatchObject({ modelled: true, bad: 0 });
    expect(run.slo.find((slo) => slo.name === 'time-to-match')).toMatchObject({ modelled: false, met: null });
    for (const point of run.series) {
      expect(point.replicas).toBeGreaterThanOrEqual(hpa.minReplicas);
      expect(point.replicas).toBeLessThanOrEqual(hpa.maxReplicas);
    }
  });

  it('When the critical load alone exceeds the pods, then requests queue and time out, riders are turned away, and booking objectives have nothing left to judge', () => {
    const small = { ...hpa, minReplicas: 1, maxReplicas: 1 };
    const run = runCluster(
      { scenario: flashPeak },
      parameters({ scale: 400 }),
      small,
      capacity,
      costs,
      plans,
      {
        series: true,
      },
    );
    expect(run.totals.saturatedSeconds).toBeGreaterThan(0);
    expect(run.totals.failed).toBeGreaterThan(0);
    expect(run.totals.rides.walkedAway).toBeGreaterThan(0.9 * run.totals.rides.requested);
    expect(run.slo.find((slo) => slo.name === 'booking-latency')).toMatchObject({ events: 0, value: null });
    expect(run.series.some((point) => point.p99Ms.booking === Number.POSITIVE_INFINITY)).toBe(true);
  });

  it('When one pod is a little short at the peak, then bookings wait in its queue and the latency objective is missed', () => {
    const small = { ...hpa, minReplicas: 1, maxReplicas: 1 };
    const run = runCluster({ scenario: flashPeak }, parameters({ scale: 30 }), small, capacity, costs, plans);
    const latency = run.slo.find((slo) => slo.name === 'booking-latency')!;
    expect(latency.events).toBeGreaterThan(0);
    expect(latency.bad).toBeGreaterThan(0);
  });

  it('When the same peak runs on functions, then new instances start cold, and beyond the scale-out limit requests are throttled', () => {
    const open = runServerless({ scenario: flashPeak }, parameters({ scale: 150 }), costs, plans, {
      series: true,
    });
    expect(open.totals.coldStarts).toBeGreaterThan(0);
    expect(open.totals.throttled).toBe(0);
    const capped = runServerless(
      { scenario: flashPeak },
      parameters({ scale: 150, maxInstances: 20 }),
      costs,
      plans,
    );
    expect(capped.totals.throttled).toBeGreaterThan(0);
    expect(capped.slo.find((slo) => slo.name === 'booking-availability')?.met).toBe(false);
  });

  it('When the search runs, then it returns a setting that meets every modelled SLO and costs no more than any other it tried', () => {
    const input = { scenario: flashPeak };
    const p = parameters({ scale: 150 });
    const found = recommend(input, p, hpa, capacity, costs, plans);
    expect(found.found).toBe(true);
    expect(found.candidate!.minReplicas).toBeGreaterThanOrEqual(2);
    const replay = runCluster(input, p, found.spec!, capacity, costs, plans);
    expect(replay.slo.every((slo) => slo.met !== false)).toBe(true);
    expect(replay.totals.replicaSeconds).toBe(found.replicaSeconds);
    // A neighbour with one replica fewer, same target and policy, either misses an SLO or is not cheaper.
    if (found.candidate!.minReplicas > 2) {
      const fewer = applyCandidate(
        hpa,
        { ...found.candidate!, minReplicas: found.candidate!.minReplicas - 1 },
        p,
      );
      const run = runCluster(input, p, fewer, capacity, costs, plans);
      expect(run.slo.some((slo) => slo.met === false)).toBe(true);
    }
    expect(scaleUpChoices(hpa).map((choice) => choice.name)).toContain('as in the manifest');
  });

  it("When no setting holds within the manifest's maxReplicas, then the search raises the ceiling to the lowest that holds", () => {
    const input = { scenario: flashPeak };
    const p = parameters({ scale: 150 });
    const low = { ...hpa, minReplicas: 1, maxReplicas: 2 };
    // The manifest's own ceiling: the peak turns riders away and quote-availability is missed.
    const capped = runCluster(input, p, low, capacity, costs, plans);
    expect(capped.slo.find((slo) => slo.name === 'quote-availability')?.met).toBe(false);

    const found = recommend(input, p, low, capacity, costs, plans);
    expect(found).toMatchObject({ found: true, manifestMaxReplicas: 2 });
    const ceiling = found.candidate!.maxReplicas;
    expect(ceiling).toBeGreaterThan(2);
    expect(found.spec!.maxReplicas).toBe(ceiling);
    const replay = runCluster(input, p, found.spec!, capacity, costs, plans);
    expect(replay.slo.every((slo) => slo.met !== false)).toBe(true);
    // One replica lower, with the same target, floor and policy, no longer holds.
    const lower = applyCandidate(low, { ...found.candidate!, maxReplicas: ceiling - 1 }, p);
    expect(runCluster(input, p, lower, capacity, costs, plans).slo.some((slo) => slo.met === false)).toBe(
      true,
    );
  });

  it("When even the node group's room cannot hold the peak, then the search says no setting holds", () => {
    const p = parameters({ scale: 150, maxNodes: 1, podsPerNode: 2 });
    const found = recommend({ scenario: flashPeak }, p, { ...hpa, maxReplicas: 2 }, capacity, costs, plans);
    expect(found).toMatchObject({ found: false, manifestMaxReplicas: 2, maxReplicasLimit: 2 });
  });
});

describe('the inputs', () => {
  it('When a pod-capacity file lacks a class, then the error names the field', () => {
    const document = JSON.parse(JSON.stringify(capacity));
    delete document.classes.booking;
    expect(() => parsePodCapacity(document, 'pod.json')).toThrow(PodCapacityFileError);
    expect(() => parsePodCapacity(document, 'pod.json')).toThrow(/pod.json: classes.booking: missing/);
  });

  it('When the SLO file is the shipped one, then booking availability and latency and quote availability are modelled and time to match is not', () => {
    expect(
      plans.map((plan) => [plan.objective.name, plan.sli?.kind ?? 'not modelled', plan.sli?.thresholdMs]),
    ).toEqual([
      ['booking-availability', 'availability', undefined],
      ['booking-latency', 'latency', 300],
      ['quote-availability', 'availability', undefined],
      ['time-to-match', 'not modelled', undefined],
    ]);
    expect(plans[0]!.sli!.classes).toEqual(['booking']);
    expect(plans[2]!.sli!.classes).toEqual(['quote']);
    expect(capacityClasses).toContain('booking');
  });
});
