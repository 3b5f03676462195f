/**
 * Reads the Prometheus text exposition format 0.0.4 (what prom-client serves on /metrics) into
 * samples, and parses the counter selectors of the SLO file. Small and written here: prom-client
 * only writes the format, and the parsers on npm reshape histograms into per-family objects, which
 * would have to be flattened back to match a selector on `le`.
 *
 * Format: https://prometheus.io/docs/instrumenting/exposition_formats/ (text-based format).
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  /** NaN, +Inf and -Inf are kept as such. */
  value: number;
  /** Milliseconds since the epoch, when the line gave one. */
  timestampMs?: number;
}

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
  /** For `=~` and `!~`: anchored at both ends, as Prometheus does. */
  regex?: RegExp;
}

export interface Selector {
  /** The selector as written, for messages. */
  text: string;
  /** Every condition, the metric name as a `__name__` matcher. */
  matchers: Matcher[];
}

export class PrometheusTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrometheusTextError';
  }
}

const nameStart = /[a-zA-Z_:]/;
const nameChar = /[a-zA-Z0-9_:]/;
const labelStart = /[a-zA-Z_]/;
const labelChar = /[a-zA-Z0-9_]/;

/** A cursor over one line (a sample) or one selector; `fail` names the line for the message. */
const scanner = (text: string, fail: (problem: string) => never) => {
  let at = 0;
  const self = {
    get at() {
      return at;
    },
    done: () => at >= text.length,
    peek: () => text[at] ?? '',
    skipSpaces() {
      while (text[at] === ' ' || text[at] === '\t') at++;
    },
    skip(count: number) {
      at += count;
    },
    expect(char: string) {
      if (text[at] !== char) fail(`expected "${char}" at column ${at + 1}, found ${show(text[at])}`);
      at++;
    },
    name(start: RegExp, rest: RegExp, what: string): string {
      const from = at;
      if (!start.test(text[at] ?? ''))
        fail(`expected a ${what} at column ${at + 1}, found ${show(text[at])}`);
      at++;
      while (rest.test(text[at] ?? '')) at++;
      return text.slice(from, at);
    },
    /** A quoted string; `escapes` maps the character after a backslash to what it stands for. */
    quoted(quote: string, escapes: Record<string, string>): string {
      self.expect(quote);
      let value = '';
      for (;;) {
        const char = text[at];
        if (char === undefined) fail(`unterminated string starting before column ${at + 1}`);
        at++;
        if (char === quote) return value;
        if (char === '\\') {
          const escaped = text[at];
          const meaning = escaped === undefined ? undefined : escapes[escaped];
          if (meaning === undefined) fail(`unknown escape "\\${escaped ?? ''}" at column ${at}`);
          value += meaning;
          at++;
        } else value += char;
      }
    },
    rest: () => text.slice(at),
  };
  return self;
};

const show = (char: string | undefined) => (char === undefined ? 'the end' : JSON.stringify(char));

/** In the exposition format a label value knows three escapes only. */
const exposition = { '\\': '\\', '"': '"', n: '\n' };
/** PromQL strings follow Go's: the usual backslash escapes. */
const promql = {
  '\\': '\\',
  '"': '"',
  "'": "'",
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

/** Go's ParseFloat spellings that JavaScript's Number() does not read. */
const specialValues: Record<string, number> = {
  '+inf': Number.POSITIVE_INFINITY,
  inf: Number.POSITIVE_INFINITY,
  '-inf': Number.NEGATIVE_INFINITY,
  nan: Number.NaN,
  '+nan': Number.NaN,
  '-nan': Number.NaN,
};

const parseValue = (token: string): number | undefined => {
  const special = specialValues[token.toLowerCase()];
  if (special !== undefined) return special;
  // Number('') is 0 and Number('0x1f') is 31: neither is a sample value.
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(token)) return undefined;
  return Number(token);
};

/** Every sample of an exposition, in order. `# HELP`, `# TYPE` and other comments are skipped. */
export const parsePrometheusText = (text: string): Sample[] => {
  const samples: Sample[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] ?? '').replace(/\r$/, '');
    const trimmed = line.trimStart();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fail = (problem: string): never => {
      throw new PrometheusTextError(`metrics line ${index + 1}: ${problem}: ${line.slice(0, 200)}`);
    };
    const scan = scanner(trimmed, fail);
    const name = scan.name(nameStart, nameChar, 'metric name');
    const labels: Record<string, string> = {};
    scan.skipSpaces();
    if (scan.peek() === '{') {
      scan.expect('{');
      scan.skipSpaces();
      while (scan.peek() !== '}') {
        const label = scan.name(labelStart, labelChar, 'label name');
        scan.skipSpaces();
        scan.expect('=');
        scan.skipSpaces();
        labels[label] = scan.quoted('"', exposition);
        scan.skipSpaces();
        if (scan.peek() === ',') {
          scan.expect(',');
          scan.skipSpaces();
        } else if (scan.peek() !== '}') fail(`expected "," or "}" at column ${scan.at + 1}`);
      }
      scan.expect('}');
    }
    const [valueToken, timestampToken, extra] = scan
      .rest()
      .trim()
      .split(/[ \t]+/);
    const value = parseValue(valueToken ?? '');
    if (value === undefined) fail(`not a sample value: ${show(valueToken)}`);
    if (extra !== undefined) fail('unexpected text after the timestamp');
    const sample: Sample = { name, labels, value: value as number };
    if (timestampToken !== undefined) {
      if (!/^-?\d+$/.test(timestampToken)) fail(`not a timestamp: ${show(timestampToken)}`);
      sample.timestampMs = Number(timestampToken);
    }
    samples.push(sample);
  }
  return samples;
};

/**
 * A plain instant-vector selector: `name`, `name{label op "value", …}` or `{__name__="name", …}`.
 * Regexes are fully anchored and `.` matches a newline, as in Prometheus; JavaScript's regex
 * syntax is close to RE2's for what selectors use (classes, groups, alternation, repetition).
 */
export const parseSelector = (text: string): Selector => {
  const fail = (problem: string): never => {
    throw new PrometheusTextError(`selector ${JSON.stringify(text)}: ${problem}`);
  };
  const scan = scanner(text.trim(), fail);
  const matchers: Matcher[] = [];
  if (scan.peek() !== '{')
    matchers.push({ label: '__name__', op: '=', value: scan.name(nameStart, nameChar, 'metric name') });
  scan.skipSpaces();
  if (scan.peek() === '{') {
    scan.expect('{');
    scan.skipSpaces();
    while (scan.peek() !== '}') {
      const label = scan.name(labelStart, labelChar, 'label name');
      scan.skipSpaces();
      const op = ((): MatchOp => {
        if (scan.peek() === '!') {
          scan.expect('!');
          if (scan.peek() === '~') {
            scan.skip(1);
            return '!~';
          }
          scan.expect('=');
          return '!=';
        }
        if (scan.peek() !== '=') fail(`expected a matcher (=, !=, =~, !~) at column ${scan.at + 1}`);
        scan.skip(1);
        if (scan.peek() === '~') {
          scan.skip(1);
          return '=~';
        }
        return '=';
      })();
      scan.skipSpaces();
      const quote = scan.peek();
      let value: string;
      if (quote === '`') {
        // Raw string: no escapes at all.
        scan.expect('`');
        const end = scan.rest().indexOf('`');
        if (end < 0) fail('unterminated raw string');
        value = scan.rest().slice(0, end);
        scan.skip(end + 1);
      } else if (quote === '"' || quote === "'") value = scan.quoted(quote, promql);
      else return fail(`expected a quoted value at column ${scan.at + 1}`);
      const matcher: Matcher = { label, op, value };
      if (op === '=~' || op === '!~') {
        try {
          matcher.regex = new RegExp(`^(?:${value})$`, 's');
        } catch (error) {
          fail(
            `bad regex ${JSON.stringify(value)}: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
      matchers.push(matcher);
      scan.skipSpaces();
      if (scan.peek() === ',') {
        scan.expect(',');
        scan.skipSpaces();
      } else if (scan.peek() !== '}') fail(`expected "," or "}" at column ${scan.at + 1}`);
    }
    scan.expect('}');
  }
  scan.skipSpaces();
  if (!scan.done())
    fail(`unexpected text at column ${scan.at + 1}: functions, ranges and offsets are not selectors`);
  if (!matchers.some((m) => m.label === '__name__' && m.op === '=') && !matchers.some((m) => m.value !== ''))
    fail('needs a metric name or a matcher that does not match the empty string');
  return { text, matchers };
};

/** Whether a sample is in a selector's result; a missing label matches as the empty string. */
export const matches = (selector: Selector, sample: Sample): boolean => {
  for (const matcher of selector.matchers) {
    const actual = matcher.label === '__name__' ? sample.name : (sample.labels[matcher.label] ?? '');
    switch (matcher.op) {
      case '=':
        if (actual !== matcher.value) return false;
        break;
      case '!=':
        if (actual === matcher.value) return false;
        break;
      case '=~':
        if (!matcher.regex?.test(actual)) return false;
        break;
      case '!~':
        if (matcher.regex?.test(actual)) return false;
        break;
    }
  }
  return true;
};

/** One key per series: the name and the labels in a fixed order. */
export const seriesKey = (sample: Sample): string =>
  `${sample.name}{${Object.keys(sample.labels)
    .sort()
    .map((label) => `${label}=${JSON.stringify(sample.labels[label])}`)
    .join(',')}}`;
