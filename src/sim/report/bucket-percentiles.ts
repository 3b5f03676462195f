import { Int32Histogram, type JsHistogram } from 'hdr-histogram-js';

/**
 * Percentiles per time bucket (the "latency over time" charts) at a bounded cost. A bucket's
 * values go into an HDR histogram (32-bit counts, 2 significant digits: ±1%, ~14 KB) while
 * values for it can still arrive; once every request that belongs to it must have been answered
 * (`lateMs` of wall time after a newer bucket started), its percentiles are kept as numbers and
 * the histogram goes back to a pool. Memory depends on how many buckets are open at once, not on
 * the run's length; keeping a histogram per bucket for the whole run would cost hundreds of MB
 * over a simulated day, and the compact (packed) HDR variant is ten times slower to read.
 *
 * A value for a bucket already closed is counted in `late` and left out of that bucket's
 * percentiles (the whole-run histograms still hold it).
 */

export interface BucketPercentilesOptions {
  /** Values above are recorded as this. */
  highest: number;
  /** In [0, 100], ascending. */
  percentiles: readonly number[];
  /** Wall milliseconds after a bucket stops being the newest during which values may still come. */
  lateMs: number;
  now: () => number;
  /** Expected number of buckets (pre-sizes the arrays). */
  buckets: number;
}

/**
 * Several percentiles in one pass over the counts, by the rule of HDR's `getValueAtPercentile`
 * (nearest rank, reported as the highest value equivalent to it, capped at the exact maximum).
 * That method walks the counts once per percentile; this walks them once.
 */
export const percentilesOf = (histogram: JsHistogram, percentiles: readonly number[]): number[] => {
  const values = percentiles.map(() => 0);
  const total = histogram.totalCount;
  if (total === 0) return values;
  // Nudged down by a hair so that 0.99 × 1000 = 990.0000000000001 still ranks 990.
  const ranks = percentiles.map((p) =>
    Math.max(1, Math.ceil((Math.min(p, 100) / 100) * total * (1 - 1e-12))),
  );
  // With 1 as the lowest discernible value, maxValue is the exact largest value recorded.
  const max = histogram.maxValue;
  let next = 0;
  let seen = 0;
  for (let index = 0; index < histogram.countsArrayLength && next < ranks.length; index++) {
    seen += histogram.getCountAtIndex(index);
    while (next < ranks.length && seen >= ranks[next]!) {
      values[next] = Math.min(histogram.highestEquivalentValue(histogram.valueFromIndex(index)), max);
      next++;
    }
  }
  return values;
};

export const createBucketPercentiles = (options: BucketPercentilesOptions) => {
  const { highest, percentiles, lateMs, now } = options;
  const width = percentiles.length;
  const pool: JsHistogram[] = [];
  /** Open histograms by bucket; undefined once closed or before the first value. */
  const open: (JsHistogram | undefined)[] = [];
  /** Closed buckets' percentiles, [bucket * width + i]; NaN when the bucket had no values. */
  let closed = new Float64Array(Math.max(options.buckets, 16) * width).fill(Number.NaN);
  /** Wall time at which each bucket stopped being the newest. */
  let supersededAt = new Float64Array(Math.max(options.buckets, 16));
  /** Every bucket below this is closed. */
  let closedBefore = 0;
  /** The newest bucket that got a value; -1 before any. */
  let newest = -1;
  let late = 0;

  const ensure = (bucket: number) => {
    if (bucket < supersededAt.length) return;
    let size = supersededAt.length;
    while (size <= bucket) size *= 2;
    const times = new Float64Array(size);
    times.set(supersededAt);
    supersededAt = times;
    const values = new Float64Array(size * width).fill(Number.NaN);
    values.set(closed);
    closed = values;
  };

  const close = (bucket: number) => {
    const histogram = open[bucket];
    if (!histogram) return;
    const values = percentilesOf(histogram, percentiles);
    for (let i = 0; i < width; i++) closed[bucket * width + i] = values[i]!;
    open[bucket] = undefined;
    histogram.reset();
    pool.push(histogram);
  };

  const advance = (bucket: number) => {
    ensure(bucket);
    const at = now();
    // Every bucket from the previous newest up to this one stops being the newest now.
    for (let b = Math.max(newest, 0); b < bucket; b++) supersededAt[b] = at;
    newest = bucket;
    while (closedBefore < newest && at - supersededAt[closedBefore]! >= lateMs) close(closedBefore++);
  };

  return {
    record(bucket: number, value: number): void {
      if (bucket > newest) advance(bucket);
      else if (bucket < closedBefore) {
        late++;
        return;
      }
      let histogram = open[bucket];
      if (!histogram) {
        histogram = pool.pop() ?? new Int32Histogram(1, highest, 2);
        open[bucket] = histogram;
      }
      histogram.recordValue(Math.min(value, highest));
    },

    /** Values that came after their bucket closed. */
    get late() {
      return late;
    },

    /** One column per percentile over `buckets` buckets; null where a bucket had no values. */
    columns(buckets: number): (number | null)[][] {
      const columns = percentiles.map((): (number | null)[] => []);
      for (let b = 0; b < buckets; b++) {
        const histogram = open[b];
        const values =
          histogram && histogram.totalCount > 0
            ? percentilesOf(histogram, percentiles)
            : b < closed.length / width
              ? Array.from({ length: width }, (_, i) => closed[b * width + i]!)
              : undefined;
        for (let i = 0; i < width; i++) {
          const value = values?.[i];
          columns[i]!.push(value === undefined || Number.isNaN(value) ? null : value);
        }
      }
      return columns;
    },
  };
};

export type BucketPercentiles = ReturnType<typeof createBucketPercentiles>;
