import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';

/**
 * Seeded randomness for the simulator: the same seed replays the same run. Every part draws from
 * its own stream, `fork(label)`, whose values depend only on the seed and the labels that lead to
 * it, never on how much its parent or its siblings have drawn: adding riders does not move a
 * single driver. The generator is pure-rand's recommended xoroshiro128+.
 */
export interface Random {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Uniform in [min, max). */
  between(min: number, max: number): number;
  normal(mean: number, sd: number): number;
  /** The waiting time of a Poisson process with this rate (events per unit of time). */
  exponential(rate: number): number;
  /** A Poisson count with mean `lambda`. */
  poisson(lambda: number): number;
  pick<T>(items: readonly T[]): T;
  /** One item, with probability proportional to its weight. */
  weighted<T>(items: readonly T[], weight: (item: T) => number): T;
  /** An independent stream, the same for the same seed and label path wherever it is asked for. */
  fork(label: string): Random;
}

/**
 * Knuth's product method is exact, but costs one draw per unit of lambda and underflows past
 * about 700; above this the normal approximation is within a fraction of a percent.
 */
const POISSON_EXACT_BELOW = 60;

/** MurmurHash3's finaliser: spreads every input bit over the whole word. */
const mix32 = (value: number): number => {
  let x = Math.imul(value ^ (value >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) | 0;
};

/** 32 bits of FNV-1a over the string's UTF-16 units from `basis`, then mixed. */
const hash32 = (text: string, basis: number): number => {
  let h = basis | 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h);
};

/**
 * The 128-bit state of a stream, from its path. The generator's own seeding takes 32 bits and
 * leaves half the state constant, which makes neighbouring seeds start out alike; four
 * differently based hashes fill all of it.
 */
const stateOf = (path: string): number[] => {
  const state = [0x811c9dc5, 0x050c5d1f, 0x1b873593, 0x6a09e667].map((basis) => hash32(path, basis));
  // xoroshiro must not start from all zeros; the chance is 2^-128, the guard costs nothing.
  if (!state.some((word) => word !== 0)) state[0] = 1;
  return state;
};

const checkFinite = (name: string, value: number) => {
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be a finite number, got ${value}`);
};

const createStream = (path: string): Random => {
  const generator = xoroshiro128plusFromState(stateOf(path));
  const uniform = () => uniformFloat64(generator);

  const normal = (mean: number, sd: number): number => {
    checkFinite('mean', mean);
    if (!(sd >= 0 && Number.isFinite(sd))) throw new RangeError(`sd must be >= 0, got ${sd}`);
    // Box–Muller; 1 - u keeps the logarithm's argument in (0, 1].
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    return mean + sd * radius * Math.cos(2 * Math.PI * uniform());
  };

  const random: Random = {
    uniform,
    between: (min, max) => {
      checkFinite('min', min);
      checkFinite('max', max);
      return min + (max - min) * uniform();
    },
    normal,
    exponential: (rate) => {
      if (!(rate > 0 && Number.isFinite(rate)))
        throw new RangeError(`rate must be a positive number, got ${rate}`);
      return -Math.log(1 - uniform()) / rate;
    },
    poisson: (lambda) => {
      if (!(lambda >= 0 && Number.isFinite(lambda)))
        throw new RangeError(`lambda must be >= 0, got ${lambda}`);
      if (lambda >= POISSON_EXACT_BELOW) return Math.max(0, Math.round(normal(lambda, Math.sqrt(lambda))));
      const limit = Math.exp(-lambda);
      let count = 0;
      let product = uniform();
      while (product > limit) {
        count++;
        product *= uniform();
      }
      return count;
    },
    pick: (items) => {
      if (items.length === 0) throw new RangeError('cannot pick from an empty list');
      return items[Math.floor(uniform() * items.length)]!;
    },
    weighted: (items, weight) => {
      const weights = items.map(weight);
      let total = 0;
      for (const w of weights) {
        if (!(w >= 0 && Number.isFinite(w))) throw new RangeError(`weights must be >= 0, got ${w}`);
        total += w;
      }
      if (!(total > 0)) throw new RangeError('cannot pick by weight: the weights add up to 0');
      let left = uniform() * total;
      for (let i = 0; i < items.length; i++) {
        left -= weights[i]!;
        // Zero-weight items are never chosen, even when rounding leaves `left` at exactly 0.
        if (left < 0 && weights[i]! > 0) return items[i]!;
      }
      // Rounding can leave a sliver past the last weight: the last item that has any weight.
      return items[weights.findLastIndex((w) => w > 0)]!;
    },
    // The length prefix keeps fork('a/b') apart from fork('a').fork('b').
    fork: (label) => createStream(`${path}/${label.length}:${label}`),
  };
  return random;
};

/** A random stream for `seed` (a safe integer); forks of it are independent streams. */
export const createRandom = (seed: number): Random => {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  return createStream(String(seed));
};
