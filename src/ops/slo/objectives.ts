import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';

/**
 * The SLO file (`slo/objectives.yaml`): loaded and validated here, once, for `peakride slo`
 * (rules and dashboard) and for the city simulator (judging a run). The format is documented
 * in docs/slo.md and at the top of the file itself.
 */

export interface Sli {
  /** Counter selectors of the good events (when the file gives `good`). */
  good?: string[];
  /** Counter selectors of the bad events (when the file gives `errors`). */
  errors?: string[];
  /** Counter selectors of every event; summed. */
  total: string[];
}

export interface Objective {
  name: string;
  description: string;
  /** Share of good events, in (0, 1). */
  target: number;
  /** The SLO window as written (`28d`, `4w`): the period of the target and of the error budget. */
  window: string;
  windowDays: number;
  sli: Sli;
}

export interface Objectives {
  /** Where the runbooks live; alerts link to `<runbooks>#<objective name>`. */
  runbooks: string;
  objectives: Objective[];
}

/** A problem with the SLO file; the message names the file and the field. */
export class SloFileError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${problem}`);
    this.name = 'SloFileError';
  }
}

const namePattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const windowPattern = /^([1-9][0-9]*)(d|w)$/;
/**
 * A plain instant-vector selector: a metric name with optional matchers. The generator wraps
 * it in `rate(…[window])`, so functions, ranges and offsets would produce broken PromQL.
 */
const selectorPattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^{}]*\})?$/;

type Fields = Record<string, unknown>;
const isRecord = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const show = (value: unknown) => JSON.stringify(value) ?? String(value);

/** Budget as a clean decimal: 1 - 0.999 is 0.0010000000000000009 in floating point. */
export const errorBudget = (target: number) => Number((1 - target).toPrecision(12));

/** Parses and validates the text of an SLO file; `file` names it in errors. */
export const parseObjectives = (text: string, file: string): Objectives => {
  const fail = (field: string, problem: string): never => {
    throw new SloFileError(file, field, problem);
  };
  const onlyKeys = (value: Fields, field: string, allowed: string[]) => {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key))
        fail(field ? `${field}.${key}` : key, `unknown field (expected one of: ${allowed.join(', ')})`);
    }
  };

  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    fail('', `not valid YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isRecord(document)) return fail('', 'expected a mapping with `version` and `objectives`');
  onlyKeys(document, '', ['version', 'runbooks', 'objectives']);
  if (document.version !== 1)
    fail('version', `must be 1 (the only format so far); got ${show(document.version)}`);
  const runbooks = document.runbooks ?? 'docs/slo.md';
  if (typeof runbooks !== 'string' || runbooks.trim() === '')
    fail('runbooks', 'must be a path or URL of the runbook document');
  if (!Array.isArray(document.objectives) || document.objectives.length === 0)
    fail('objectives', 'must be a non-empty list of objectives');

  const selectors = (value: unknown, field: string): string[] => {
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || list.length === 0)
      return fail(field, 'must be a counter selector or a non-empty list of them');
    return list.map((selector: unknown, index) => {
      const at = Array.isArray(value) ? `${field}[${index}]` : field;
      if (typeof selector !== 'string' || !selectorPattern.test(selector.trim()))
        fail(
          at,
          `must be a plain counter selector such as 'http_requests_total{route="/v1/rides"}' (no functions or ranges); got ${show(selector)}`,
        );
      return (selector as string).trim();
    });
  };

  const seen = new Set<string>();
  const objectives = (document.objectives as unknown[]).map((entry, index): Objective => {
    const at = `objectives[${index}]`;
    if (!isRecord(entry)) return fail(at, 'must be a mapping');
    onlyKeys(entry, at, ['name', 'description', 'target', 'window', 'sli']);
    const { name, description, target, window, sli } = entry;
    if (name === undefined) fail(`${at}.name`, 'missing');
    if (typeof name !== 'string' || !namePattern.test(name))
      fail(
        `${at}.name`,
        `must be lower-case words joined by "-", such as booking-availability; got ${show(name)}`,
      );
    const where = `objectives[${index}] (${name as string})`;
    if (seen.has(name as string)) fail(`${where}.name`, 'is used by an earlier objective');
    seen.add(name as string);
    if (typeof description !== 'string' || description.trim() === '')
      fail(`${where}.description`, description === undefined ? 'missing' : 'must be a non-empty string');
    if (target === undefined) fail(`${where}.target`, 'missing');
    if (typeof target !== 'number' || !(target > 0 && target < 1))
      fail(
        `${where}.target`,
        `must be a number between 0 and 1, exclusive (0.999 for 99.9%); got ${show(target)}`,
      );
    if (window === undefined) fail(`${where}.window`, 'missing');
    const windowMatch = typeof window === 'string' ? windowPattern.exec(window) : null;
    const windowDays = windowMatch ? Number(windowMatch[1]) * (windowMatch[2] === 'w' ? 7 : 1) : 0;
    if (windowDays < 7 || windowDays > 90)
      fail(
        `${where}.window`,
        `must be days or weeks between 7d and 90d, such as 28d or 4w; got ${show(window)}`,
      );
    if (sli === undefined) fail(`${where}.sli`, 'missing');
    if (!isRecord(sli)) return fail(`${where}.sli`, 'must be a mapping with `total` and `good` or `errors`');
    onlyKeys(sli, `${where}.sli`, ['good', 'errors', 'total']);
    if (sli.total === undefined) fail(`${where}.sli.total`, 'missing');
    if ((sli.good === undefined) === (sli.errors === undefined))
      fail(`${where}.sli`, 'needs exactly one of `good` and `errors` (besides `total`)');
    return {
      name: name as string,
      description: (description as string).trim(),
      target: target as number,
      window: window as string,
      windowDays,
      sli: {
        ...(sli.good === undefined ? {} : { good: selectors(sli.good, `${where}.sli.good`) }),
        ...(sli.errors === undefined ? {} : { errors: selectors(sli.errors, `${where}.sli.errors`) }),
        total: selectors(sli.total, `${where}.sli.total`),
      },
    };
  });
  return { runbooks: (runbooks as string).trim(), objectives };
};

/** Reads and validates an SLO file. */
export const loadObjectives = async (file: string): Promise<Objectives> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SloFileError(
      file,
      '',
      `cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  return parseObjectives(text, file);
};
