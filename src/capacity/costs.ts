import { CLASS_COUNT, capacityClasses, classInfo, type MeasuredClass, measuredClasses } from './classes.js';
import { createLatencyCache, type LatencyCache, latencyModelOf, meanServiceMs } from './latency.js';
import type { PodCapacity } from './pod-capacity.js';

/**
 * What one request of each class costs a pod, and how long it takes, from the measured pod
 * capacity; per-class arrays are indexed in `capacityClasses` order.
 */
export interface Costs {
  /** Event-loop seconds per request. */
  utilization: Float64Array;
  /** CPU seconds per request. */
  cpu: Float64Array;
  /** Mean latency at light load, seconds (a serverless instance is held that long). */
  serviceSeconds: Float64Array;
  /** The measured class each class is costed as. */
  costedAs: MeasuredClass[];
  latency: Record<MeasuredClass, LatencyCache>;
  /** CPU seconds per event-loop second of the replica stream (as a location update's). */
  applyCpuRatio: number;
}

export const costsOf = (capacity: PodCapacity): Costs => {
  const latency = Object.fromEntries(
    measuredClasses.map((kind) => [kind, createLatencyCache(latencyModelOf(capacity.classes[kind]))]),
  ) as Record<MeasuredClass, LatencyCache>;
  const costedAs = capacityClasses.map((kind) => classInfo[kind].costedAs);
  const array = (value: (measured: MeasuredClass) => number) => {
    const values = new Float64Array(CLASS_COUNT);
    costedAs.forEach((measured, index) => {
      values[index] = value(measured);
    });
    return values;
  };
  const location = capacity.classes.location;
  return {
    utilization: array((measured) => capacity.classes[measured].utilizationPerRequest),
    cpu: array((measured) => capacity.classes[measured].cpuSecondsPerRequest),
    serviceSeconds: array((measured) => meanServiceMs(latency[measured].model) / 1000),
    costedAs,
    latency,
    applyCpuRatio: location.cpuSecondsPerRequest / location.utilizationPerRequest,
  };
};
