import { type Attributes, SpanKind } from '@opentelemetry/api';
import { tracingOn, withSpan } from '../../spans.js';
import type { Database, Queryable } from './database.js';

interface Summary {
  /** `SELECT rides`: the span's name, from the statement's operation and main table. */
  name: string;
  attributes: Attributes;
}

/** Our statements are a few dozen constants; the bound only guards against one built per call. */
const MAX_SUMMARIES = 1000;
const summaries = new Map<string, Summary>();

const DML = /\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z_][\w.]*)/i;
const FROM = /\bFROM\s+"?([A-Za-z_][\w.]*)/i;

/**
 * Operation and table of a statement, never its values: parameters are bound separately and
 * literals are not copied. A `WITH` statement is named after the write inside it, if any.
 */
const summarise = (sql: string, base: Attributes): Summary => {
  const cached = summaries.get(sql);
  if (cached) return cached;
  const text = sql.replace(/--[^\n]*/g, ' ').trimStart();
  const first = /^[A-Za-z]+/.exec(text)?.[0]?.toUpperCase() ?? 'QUERY';
  let operation = first;
  let table: string | undefined;
  if (first === 'INSERT' || first === 'UPDATE' || first === 'DELETE' || first === 'WITH') {
    const write = DML.exec(text);
    if (write) {
      operation = write[1]!.split(/\s+/)[0]!.toUpperCase();
      table = write[2];
    }
  }
  if (!table && (operation === 'SELECT' || operation === 'WITH')) {
    table = FROM.exec(text)?.[1];
    operation = 'SELECT';
  }
  const name = table ? `${operation} ${table}` : operation;
  const summary: Summary = {
    name,
    attributes: {
      ...base,
      'db.operation.name': operation,
      ...(table ? { 'db.collection.name': table } : {}),
      'db.query.summary': name,
    },
  };
  if (summaries.size < MAX_SUMMARIES) summaries.set(sql, summary);
  return summary;
};

const tracedQueryable = (db: Queryable, base: Attributes): Queryable => ({
  query: (sql, params) => {
    if (!tracingOn()) return db.query(sql, params);
    const { name, attributes } = summarise(sql, base);
    return withSpan(name, { kind: SpanKind.CLIENT, attributes }, () => db.query(sql, params));
  },
  exec: (sql) => {
    if (!tracingOn()) return db.exec(sql);
    return withSpan('script', { kind: SpanKind.CLIENT, attributes: base }, () => db.exec(sql));
  },
});

/**
 * A span per statement and per transaction (its statements nest under it), named after the
 * statement's operation and table. `db.system` is postgresql for PGlite too: same SQL, same
 * server code; `peakride.db.engine` tells them apart. While tracing is off, each call pays one
 * boolean test.
 */
export const traceDatabase = (db: Database, attributes: Attributes = {}): Database => {
  const base: Attributes = {
    'db.system': 'postgresql',
    'db.system.name': 'postgresql',
    'peakride.db.engine': db.kind,
    ...attributes,
  };
  const plain = tracedQueryable(db, base);
  return {
    kind: db.kind,
    query: plain.query,
    exec: plain.exec,
    transaction: (work) => {
      if (!tracingOn()) return db.transaction(work);
      return withSpan('transaction', { kind: SpanKind.CLIENT, attributes: base }, () =>
        db.transaction((tx) => work(tracedQueryable(tx, base))),
      );
    },
    // Readiness probes every second: not worth a span each.
    ping: () => db.ping(),
    close: () => db.close(),
  };
};

/** Where a PostgreSQL server's spans say the statements went: host, port and database, never the credentials. */
export const postgresAttributes = (url: string): Attributes => {
  const parsed = new URL(url);
  return {
    'server.address': parsed.hostname,
    'server.port': Number(parsed.port || 5432),
    'db.namespace': decodeURIComponent(parsed.pathname.slice(1)),
  };
};
