import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createHpaController,
  defaultScaleDown,
  defaultScaleUp,
  type HpaSpec,
  type MetricSpec,
  type PodView,
  replicasForMetric,
  type ScalingRules,
} from '../../src/capacity/hpa.js';

/**
 * The HPA as the Kubernetes controller computes it, checked against the worked examples of the
 * Kubernetes documentation:
 * - HPA = https://kubernetes.io/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale/
 *   ("Algorithm details", "Configurable scaling behavior")
 * - walkthrough = https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale-walkthrough/
 */

const tolerance = { up: 0.1, down: 0.1 };
/** A Pods metric with a raw target, as the documentation's milli-value examples. */
const raw = (target: number): MetricSpec => ({
  type: 'Pods',
  name: 'peakride_event_loop_utilization',
  target: { type: 'AverageValue', averageValue: target },
});
const cpuUtilization = (percent: number): MetricSpec => ({
  type: 'Resource',
  name: 'cpu',
  target: { type: 'Utilization', averageUtilization: percent },
});
const ready = (value: number, count = 1): PodView[] =>
  Array.from({ length: count }, () => ({ pending: false, ready: true, value, requestCores: 1 }));
const spec = (overrides: Partial<HpaSpec> = {}): HpaSpec => ({
  name: 'test',
  minReplicas: 1,
  maxReplicas: 100,
  metrics: [raw(1)],
  ...overrides,
});
const rules = (overrides: Partial<ScalingRules>): ScalingRules => ({
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [],
  ...overrides,
});
/** n ready pods whose values make the calculator propose `desired` replicas (target 1, whole milli-units). */
const proposing = (desired: number) => (n: number) => ready(Math.floor((desired * 1000) / n) / 1000, n);

describe('the replica calculator (HPA, "Algorithm details")', () => {
  it('When the current value is 200m against a target of 100m, then the replicas double (HPA, Algorithm details)', () => {
    expect(replicasForMetric(raw(0.1), 1, ready(0.2), tolerance).replicas).toBe(2);
    expect(replicasForMetric(raw(0.1), 3, ready(0.2, 3), tolerance).replicas).toBe(6);
  });

  it('When the current value is 50m against 100m, then the replicas halve (HPA, Algorithm details)', () => {
    expect(replicasForMetric(raw(0.1), 4, ready(0.05, 4), tolerance).replicas).toBe(2);
  });

  it('When the ratio is within the 0.1 tolerance, then nothing changes; past it, the replicas change (HPA, Algorithm details)', () => {
    expect(replicasForMetric(raw(0.1), 4, ready(0.105, 4), tolerance).replicas).toBe(4);
    expect(replicasForMetric(raw(0.1), 4, ready(0.092, 4), tolerance).replicas).toBe(4);
    expect(replicasForMetric(raw(0.1), 4, ready(0.111, 4), tolerance).replicas).toBe(5);
    expect(replicasForMetric(raw(0.1), 10, ready(0.085, 10), tolerance).replicas).toBe(9);
  });

  it("When a utilisation target is set, then usage is a share of the pods' CPU requests (HPA, Algorithm details)", () => {
    // 305% of the request against a 50% target, one replica: the walkthrough's php-apache reading.
    const walkthrough = replicasForMetric(
      cpuUtilization(50),
      1,
      [{ pending: false, ready: true, value: 0.61, requestCores: 0.2 }],
      tolerance,
    );
    expect(walkthrough.replicas).toBe(7);
    expect(walkthrough.value).toBeCloseTo(305);
  });

  it('When a pod is missing its metric on a scale-down, then it counts as 100% of the target (HPA, Algorithm details)', () => {
    // 3 pods at half the target and one without a metric: 0.5 alone would give 2 pods.
    const pods = [...ready(0.5, 3), { pending: false, ready: true, requestCores: 1 }];
    expect(replicasForMetric(raw(1), 4, pods, tolerance).replicas).toBe(3);
  });

  it('When a pod is missing its metric on a scale-up, then it counts as 0% of the target (HPA, Algorithm details)', () => {
    // 3 pods at 150%: 4 × 1.5 would be 6; the missing pod at 0% dampens it to 5.
    const pods = [...ready(1.5, 3), { pending: false, ready: true, requestCores: 1 }];
    expect(replicasForMetric(raw(1), 4, pods, tolerance).replicas).toBe(5);
  });

  it('When CPU pods are not yet ready during a scale-up, then they count as 0% of the target (HPA, Algorithm details)', () => {
    const notReady: PodView = {
      pending: false,
      ready: false,
      value: 0.9,
      cpuNotYetReady: true,
      requestCores: 1,
    };
    // Two ready pods at 200% of a 100% target and two starting: (2 + 2 + 0 + 0) / 4 = 1, within tolerance.
    expect(
      replicasForMetric(cpuUtilization(100), 4, [...ready(2, 2), notReady, notReady], tolerance).replicas,
    ).toBe(4);
    // At 300%: (3 + 3 + 0 + 0) / 4 = 1.5 → 6 pods, where 4 × 3 would ask for 12.
    expect(
      replicasForMetric(cpuUtilization(100), 4, [...ready(3, 2), notReady, notReady], tolerance).replicas,
    ).toBe(6);
    // A scale-down leaves not-yet-ready pods out altogether.
    expect(
      replicasForMetric(cpuUtilization(100), 4, [...ready(0.25, 2), notReady, notReady], tolerance).replicas,
    ).toBe(1);
  });

  it('When a pod is pending, then it is set aside (0% on a scale-up), and with no metric at all nothing can be computed (HPA, Algorithm details)', () => {
    const pending: PodView = { pending: true, ready: false };
    // (2 + 2 + 0) / 3 pods → 4, where the two measured pods alone would ask for 3 × 2 = 6.
    expect(replicasForMetric(raw(1), 3, [...ready(2, 2), pending], tolerance).replicas).toBe(4);
    expect(replicasForMetric(raw(1), 1, [pending], tolerance).replicas).toBeUndefined();
  });
});

describe('the controller (HPA, "Configurable scaling behavior")', () => {
  it('When there are 80 replicas to scale down to 10 with 4 pods or 10% per 60 s, then 8 go first, 8 a minute later from 72, and 4 at a time below 40 (HPA, Scaling policies)', () => {
    const hpa = createHpaController(
      spec({
        metrics: [raw(1)],
        behavior: {
          scaleUp: defaultScaleUp(),
          // The documentation's example leaves the stabilisation window out of its arithmetic.
          scaleDown: rules({
            policies: [
              { type: 'Pods', value: 4, periodSeconds: 60 },
              { type: 'Percent', value: 10, periodSeconds: 60 },
            ],
          }),
        },
      }),
    );
    let replicas = 80;
    const seen: number[] = [];
    for (let now = 0; replicas > 10 && now < 3600; now += 15) {
      replicas = hpa.sync(now, replicas, proposing(10)(replicas)).replicas;
      seen.push(replicas);
    }
    // One sync every 15 s: the next scale-down waits until the last one leaves the 60 s period.
    expect(seen.slice(0, 5)).toEqual([72, 72, 72, 72, 64]);
    const steps = [80, ...new Set(seen)];
    expect(steps.slice(0, 3)).toEqual([80, 72, 64]);
    const below40 = steps.filter((r) => r < 40);
    for (let i = 1; i < below40.length; i++) expect(below40[i - 1]! - below40[i]!).toBeLessThanOrEqual(4);
    expect(steps.at(-1)).toBe(10);
  });

  it('When selectPolicy is Min, then the policy that changes the fewest pods applies (HPA, Example: limit scale down rate)', () => {
    const hpa = createHpaController(
      spec({
        behavior: {
          scaleUp: defaultScaleUp(),
          scaleDown: rules({
            selectPolicy: 'Min',
            policies: [
              { type: 'Percent', value: 10, periodSeconds: 60 },
              { type: 'Pods', value: 5, periodSeconds: 60 },
            ],
          }),
        },
      }),
    );
    expect(hpa.sync(0, 80, proposing(10)(80)).replicas).toBe(75);
  });

  it('When scale-down is Disabled, then the replicas never go down (HPA, Example: disable scale down)', () => {
    const hpa = createHpaController(
      spec({
        behavior: { scaleUp: defaultScaleUp(), scaleDown: rules({ selectPolicy: 'Disabled', policies: [] }) },
      }),
    );
    for (let now = 0; now < 900; now += 15) expect(hpa.sync(now, 20, proposing(2)(20)).replicas).toBe(20);
  });

  it('When the metrics fall, then the highest recommendation of the 300 s window holds until it leaves the window (HPA, Stabilization window)', () => {
    const hpa = createHpaController(
      spec({ behavior: { scaleUp: defaultScaleUp(), scaleDown: defaultScaleDown(300) } }),
    );
    let replicas = 10;
    const desires = [10, 8, 6, 4];
    const at: Record<number, number> = {};
    for (let now = 0; now <= 360; now += 15) {
      const desired = desires[Math.min(now / 15, desires.length - 1)]!;
      replicas = hpa.sync(now, replicas, proposing(desired)(replicas)).replicas;
      at[now] = replicas;
    }
    expect(at[285]).toBe(10);
    expect(at[300]).toBe(8); // the 10 of t = 0 left the window
    expect(at[315]).toBe(6);
    expect(at[330]).toBe(4);
  });

  it('When scaling up with the default behavior, then at most 4 pods or 100% are added every 15 s (HPA, Default behavior)', () => {
    const hpa = createHpaController(
      spec({ maxReplicas: 50, behavior: { scaleUp: defaultScaleUp(), scaleDown: defaultScaleDown(300) } }),
    );
    let replicas = 1;
    const steps: number[] = [];
    for (let now = 0; now <= 60; now += 15) {
      replicas = hpa.sync(now, replicas, proposing(200)(replicas)).replicas;
      steps.push(replicas);
    }
    expect(steps).toEqual([5, 10, 20, 40, 50]);
  });

  it("When the walkthrough's php-apache reads 305% of a 50% target on one pod, then the default behavior takes it to 5 at once, the calculation asking for 7 (walkthrough)", () => {
    const hpa = createHpaController(
      spec({
        maxReplicas: 10,
        metrics: [cpuUtilization(50)],
        behavior: { scaleUp: defaultScaleUp(), scaleDown: defaultScaleDown(300) },
      }),
    );
    const result = hpa.sync(0, 1, [{ pending: false, ready: true, value: 0.61, requestCores: 0.2 }]);
    expect(result.proposed).toBe(7);
    expect(result.replicas).toBe(5);
    expect(result.reason).toBe('ScaleUpLimit');
  });

  it('When a scale-up stabilisation window is set, then the lowest recommendation in it applies (HPA, Stabilization window)', () => {
    const hpa = createHpaController(
      spec({
        behavior: {
          scaleUp: rules({
            stabilizationWindowSeconds: 60,
            policies: [{ type: 'Percent', value: 900, periodSeconds: 15 }],
          }),
          scaleDown: defaultScaleDown(300),
        },
      }),
    );
    expect(hpa.sync(0, 4, proposing(4)(4)).replicas).toBe(4);
    expect(hpa.sync(15, 4, proposing(10)(4))).toMatchObject({ replicas: 4, reason: 'ScaleUpStabilized' });
    expect(hpa.sync(45, 4, proposing(10)(4)).replicas).toBe(4);
    // The 4 of t = 0 has left the 60 s window.
    expect(hpa.sync(60, 4, proposing(10)(4)).replicas).toBe(10);
  });

  it('When the replicas are outside minReplicas..maxReplicas, then they are brought inside without looking at metrics', () => {
    const hpa = createHpaController(spec({ minReplicas: 3, maxReplicas: 6 }));
    expect(hpa.sync(0, 1, ready(0, 1))).toMatchObject({ replicas: 3, reason: 'BelowMinReplicas' });
    expect(hpa.sync(15, 9, ready(5, 9))).toMatchObject({ replicas: 6, reason: 'AboveMaxReplicas' });
    expect(hpa.sync(30, 6, ready(5, 6))).toMatchObject({ replicas: 6, reason: 'TooManyReplicas' });
  });

  it('When the HPA has no behavior, then the legacy limit applies: at most twice the replicas or 4 per sync', () => {
    const hpa = createHpaController(spec({ maxReplicas: 100 }));
    expect(hpa.sync(0, 1, proposing(50)(1)).replicas).toBe(4);
    expect(hpa.sync(15, 4, proposing(50)(4)).replicas).toBe(8);
  });

  it('When several metrics are given, then the largest proposal wins, and a metric that cannot be computed blocks only a scale-down (HPA, Algorithm details)', () => {
    const cpu = cpuUtilization(50);
    const elu = raw(0.5);
    const hpa = createHpaController(
      spec({
        metrics: [cpu, elu],
        behavior: {
          scaleUp: defaultScaleUp(),
          scaleDown: rules({ policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] }),
        },
      }),
    );
    const views = (cpuValue: number | undefined, eluValue: number) => (metric: MetricSpec) =>
      Array.from(
        { length: 4 },
        (): PodView => ({
          pending: false,
          ready: true,
          requestCores: 1,
          ...(metric.type === 'Resource'
            ? cpuValue === undefined
              ? {}
              : { value: cpuValue }
            : { value: eluValue }),
        }),
      );
    expect(hpa.sync(0, 4, views(0.5, 1)).replicas).toBe(8);
    expect(hpa.sync(15, 8, views(undefined, 0.1))).toMatchObject({
      replicas: 8,
      reason: 'MetricsUnavailable',
    });
  });
});

describe('properties of the controller', () => {
  const policy = fc.record({
    type: fc.constantFrom('Pods' as const, 'Percent' as const),
    value: fc.integer({ min: 1, max: 200 }),
    periodSeconds: fc.constantFrom(15, 30, 60, 120),
  });
  const scalingRules = fc.record({
    stabilizationWindowSeconds: fc.constantFrom(0, 30, 300),
    selectPolicy: fc.constantFrom('Max' as const, 'Min' as const, 'Disabled' as const),
    policies: fc.array(policy, { minLength: 1, maxLength: 3 }),
  });

  it('When metrics vary at random, then the replicas stay within minReplicas..maxReplicas', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 40 }),
        fc.option(fc.record({ scaleUp: scalingRules, scaleDown: scalingRules }), { nil: undefined }),
        fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: 1, maxLength: 60 }),
        (min, extra, behavior, values) => {
          const max = min + extra;
          const hpa = createHpaController(
            spec({ minReplicas: min, maxReplicas: max, ...(behavior ? { behavior } : {}) }),
          );
          let replicas = min;
          values.forEach((value, index) => {
            replicas = hpa.sync(index * 15, replicas, ready(value, replicas)).replicas;
            expect(replicas).toBeGreaterThanOrEqual(min);
            expect(replicas).toBeLessThanOrEqual(max);
          });
        },
      ),
    );
  });

  it('When a Pods policy limits scale-down (or scale-up), then no period ever sees more pods removed (or added) than it allows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(15, 45, 60, 120),
        fc.constantFrom('down' as const, 'up' as const),
        fc.array(fc.double({ min: 0, max: 4, noNaN: true }), { minLength: 2, maxLength: 80 }),
        (value, periodSeconds, direction, values) => {
          const limited = rules({ policies: [{ type: 'Pods', value, periodSeconds }] });
          const free = rules({ policies: [{ type: 'Percent', value: 1000, periodSeconds: 15 }] });
          const hpa = createHpaController(
            spec({
              minReplicas: 1,
              maxReplicas: 200,
              behavior:
                direction === 'down'
                  ? { scaleUp: free, scaleDown: limited }
                  : { scaleUp: limited, scaleDown: free },
            }),
          );
          let replicas = 60;
          const changes: Array<{ at: number; moved: number }> = [];
          values.forEach((v, index) => {
            const now = index * 15;
            const next = hpa.sync(now, replicas, ready(v, replicas)).replicas;
            const moved = direction === 'down' ? replicas - next : next - replicas;
            if (moved > 0) changes.push({ at: now, moved });
            replicas = next;
          });
          for (const change of changes) {
            const inPeriod = changes
              .filter((c) => c.at > change.at - periodSeconds && c.at <= change.at)
              .reduce((sum, c) => sum + c.moved, 0);
            expect(inPeriod).toBeLessThanOrEqual(value);
          }
        },
      ),
    );
  });
});
