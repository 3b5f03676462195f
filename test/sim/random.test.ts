import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRandom } from '../../src/sim/random.js';

const draws = (n: number, draw: () => number) => Array.from({ length: n }, draw);
const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

describe('seeded randomness', () => {
  it('When two streams are made from the same seed, then they draw the same values; from another seed, different ones', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const a = createRandom(seed);
        const b = createRandom(seed);
        expect(draws(20, a.uniform)).toEqual(draws(20, b.uniform));
        expect(draws(20, createRandom(seed + 1).uniform)).not.toEqual(draws(20, createRandom(seed).uniform));
      }),
      { numRuns: 50 },
    );
  });

  it('When a stream is forked, then the fork does not depend on what the parent or its siblings drew', () => {
    const quiet = createRandom(7);
    const busy = createRandom(7);
    draws(1000, busy.uniform);
    draws(1000, busy.fork('riders').uniform);
    expect(draws(50, busy.fork('drivers').uniform)).toEqual(draws(50, quiet.fork('drivers').uniform));
    expect(draws(50, quiet.fork('drivers').uniform)).not.toEqual(draws(50, quiet.fork('riders').uniform));
    expect(draws(50, quiet.fork('a/b').uniform)).not.toEqual(draws(50, quiet.fork('a').fork('b').uniform));
  });

  it('When values are drawn, then each lies in its range', () => {
    fc.assert(
      fc.property(fc.integer(), fc.double({ min: -1e6, max: 1e6, noNaN: true }), (seed, min) => {
        const random = createRandom(seed);
        for (let i = 0; i < 50; i++) {
          const u = random.uniform();
          expect(u).toBeGreaterThanOrEqual(0);
          expect(u).toBeLessThan(1);
          const x = random.between(min, min + 10);
          expect(x).toBeGreaterThanOrEqual(min);
          expect(x).toBeLessThanOrEqual(min + 10);
          expect(random.exponential(2)).toBeGreaterThanOrEqual(0);
          expect(Number.isInteger(random.poisson(3))).toBe(true);
          expect(['a', 'b', 'c']).toContain(random.pick(['a', 'b', 'c']));
          expect(random.weighted(['never', 'always'], (item) => (item === 'never' ? 0 : 1))).toBe('always');
        }
      }),
      { numRuns: 30 },
    );
  });

  it('When many values are drawn, then their means and spreads match the distributions', () => {
    const random = createRandom(42);
    const n = 20_000;
    // Each bound is about five standard errors of the mean.
    expect(mean(draws(n, random.uniform))).toBeCloseTo(0.5, 1);
    const normals = draws(n, () => random.normal(10, 2));
    expect(Math.abs(mean(normals) - 10)).toBeLessThan(5 * (2 / Math.sqrt(n)));
    const sd = Math.sqrt(mean(normals.map((v) => (v - 10) ** 2)));
    expect(Math.abs(sd - 2)).toBeLessThan(0.05);
    expect(Math.abs(mean(draws(n, () => random.exponential(4))) - 0.25)).toBeLessThan(
      5 * (0.25 / Math.sqrt(n)),
    );
    for (const lambda of [0.5, 7, 200]) {
      const counts = draws(n, () => random.poisson(lambda));
      expect(Math.abs(mean(counts) - lambda)).toBeLessThan(5 * Math.sqrt(lambda / n));
    }
    const picks = draws(n, () => random.weighted([1, 3], (w) => w));
    const share = picks.filter((w) => w === 3).length / n;
    expect(Math.abs(share - 0.75)).toBeLessThan(5 * Math.sqrt((0.75 * 0.25) / n));
  });

  it('When a seed is not a safe integer or a parameter is out of range, then it throws', () => {
    expect(() => createRandom(1.5)).toThrow(/seed/);
    const random = createRandom(1);
    expect(() => random.exponential(0)).toThrow(/rate/);
    expect(() => random.poisson(-1)).toThrow(/lambda/);
    expect(() => random.pick([])).toThrow(/empty/);
    expect(() => random.weighted([1, 2], () => 0)).toThrow(/weights/);
  });
});
