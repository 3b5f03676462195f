import { runSimulation, type SimOptions } from './run.js';
import { durationSeconds, ScenarioFileError, ScenarioWindowError } from './scenario.js';
import { TraceFileError } from './trace.js';

export interface SimArguments {
  target?: string | undefined;
  duration?: string | undefined;
  from?: string | undefined;
  speed?: string | undefined;
  seed?: string | undefined;
  scale?: string | undefined;
  out?: string | undefined;
  offers?: string | undefined;
  objectives?: string | undefined;
  'fail-on-slo'?: boolean | undefined;
}

export const simDefaults = {
  seed: 1,
  scale: 1,
  out: 'sim-report',
  objectives: 'slo/objectives.yaml',
} as const;

class UsageError extends Error {}

/** Seconds, or a duration such as `90s`, `10m`, `17h50m`. */
const seconds = (name: string, text: string | undefined, { zero = false } = {}): number | undefined => {
  if (text === undefined) return undefined;
  const value = durationSeconds(/^\d+(\.\d+)?$/.test(text) ? Number(text) : text);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zero))
    throw new UsageError(
      `--${name} must be ${zero ? 'zero or more' : 'a positive number of'} seconds or a duration such as 10m or 17h50m, got "${text}"`,
    );
  return value;
};

const positive = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`--${name} must be a positive number, got "${text}"`);
  return value;
};

/**
 * `peakride sim <scenario>`; returns the exit code: 0 when the invariants held (and, with
 * --fail-on-slo, every SLO was met), 1 when not, 2 for a usage error, 78 for a bad scenario or
 * trace file.
 */
export const simCommand = async (scenario: string | undefined, args: SimArguments): Promise<number> => {
  try {
    if (!scenario)
      throw new UsageError(
        'name a scenario (steady, strike-day, city-launch, flash-peak, nyc-2014-04-04) or a scenario file',
      );
    const seed = args.seed === undefined ? simDefaults.seed : Number(args.seed);
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new UsageError(`--seed must be a non-negative integer, got "${args.seed}"`);
    const offers = args.offers ?? 'websocket';
    if (offers !== 'websocket' && offers !== 'polling')
      throw new UsageError(`--offers must be websocket or polling, got "${offers}"`);
    if (args.target !== undefined && !/^https?:\/\//.test(args.target)) {
      throw new UsageError(`--target must be an http(s) URL, got "${args.target}"`);
    }
    const duration = seconds('duration', args.duration);
    const from = seconds('from', args.from, { zero: true });
    const speed = positive('speed', args.speed);
    const options: SimOptions = {
      scenario,
      ...(args.target ? { target: args.target } : {}),
      ...(duration !== undefined ? { durationSeconds: duration } : {}),
      ...(from !== undefined ? { fromSeconds: from } : {}),
      ...(speed !== undefined ? { speed } : {}),
      seed,
      scale: positive('scale', args.scale) ?? simDefaults.scale,
      out: args.out ?? simDefaults.out,
      offers,
      objectives: args.objectives ?? simDefaults.objectives,
      progress: process.stderr,
      output: process.stdout,
    };
    const { report } = await runSimulation(options);
    if (!report.verdict.invariantsHeld) return 1;
    if (args['fail-on-slo'] && !report.verdict.sloMet) return 1;
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ScenarioWindowError) {
      process.stderr.write(`peakride sim: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ScenarioFileError || error instanceof TraceFileError) {
      process.stderr.write(`peakride sim: ${error.message}\n`);
      return 78;
    }
    throw error;
  }
};
