import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { type ExportedSpan, moduleLogEnv, readModuleLog, startCollector } from '../support/otel.js';
import { eventually, places } from '../support/platform.js';
import { clientsOf, startEmbedded } from '../support/processes.js';

/** Spawns the built CLI on a fresh PGlite: initdb takes seconds on a busy machine. */
const TIMEOUT_MS = 120_000;
const SERVER = 2;
/** Load shedding off: a quote shed on a busy test machine is not what these tests are about. */

let scratch: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'peakride-tracing-'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** The span's ancestors, nearest first, as far as the exported spans go. */
const ancestorsOf = (span: ExportedSpan, spans: ExportedSpan[]): ExportedSpan[] => {
  const chain: ExportedSpan[] = [];
  let current: ExportedSpan | undefined = span;
  while (current?.parentSpanId) {
    const parentId: string = current.parentSpanId;
    current = spans.find((candidate) => candidate.spanId === parentId);
    if (current) chain.push(current);
  }
  return chain;
};

describe('tracing', () => {
  it(
    'When OTEL_EXPORTER_OTLP_ENDPOINT is set, then requests, their queries and dispatch are exported as nested spans in the trace the caller started',
    async () => {
      const collector = await startCollector();
      cleanups.push(collector.close);
      const moduleLog = join(scratch, 'modules-on.txt');
      const server = await startEmbedded({
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        // Short batches: the booking below finds no driver, so it waits for one.
        PEAKRIDE_BATCH_WINDOW_MS: '200',
        PEAKRIDE_SWEEP_INTERVAL_MS: '100',
        ...moduleLogEnv(moduleLog),
      });
      cleanups.push(server.cleanup);
      const { request, rider, driver } = clientsOf(server);

      const alice = await rider();
      const quote = await alice.quote(places.gareDuNord, places.gareDeLyon);
      expect(quote.status).toBe(201);
      // The caller's trace: W3C trace context, as a gateway or a traced client sends it.
      const traceId = randomBytes(16).toString('hex');
      const callerSpanId = randomBytes(8).toString('hex');
      const booked = await request('POST', '/v1/rides', {
        token: alice.token,
        body: { quoteId: quote.body.quoteId },
        headers: { 'idempotency-key': randomUUID(), traceparent: `00-${traceId}-${callerSpanId}-01` },
      });
      expect(booked.status).toBe(201);
      const rideId = booked.body.id as string;

      // No driver yet: the ride waits; once one is online a dispatch pass offers it to them.
      const dan = await driver();
      expect((await dan.online(places.gareDuNord)).status).toBe(200);
      const offer = await dan.waitForOffer(10_000);
      expect(offer.rideId).toBe(rideId);

      expect(await server.stop('SIGTERM')).toBe(0);
      const spans = collector.spans;

      // The server span of the booking: a child of the caller's span, in the caller's trace.
      const booking = spans.find((span) => span.name === 'POST /v1/rides');
      expect(booking, JSON.stringify(spans.map((span) => span.name))).toBeDefined();
      expect(booking).toMatchObject({ traceId, parentSpanId: callerSpanId, kind: SERVER });
      expect(booking?.attributes).toMatchObject({
        'http.request.method': 'POST',
        'http.route': '/v1/rides',
        'http.response.status_code': 201,
      });
      expect(booking?.resource['service.name']).toBe('peakride-all');

      // Its statements: spans of the same trace whose parent chain leads to it.
      const queries = spans.filter(
        (span) =>
          span.attributes['db.system'] === 'postgresql' &&
          ancestorsOf(span, spans).some((ancestor) => ancestor.spanId === booking?.spanId),
      );
      expect(queries.map((span) => span.name)).toEqual(
        expect.arrayContaining(['transaction', 'INSERT rides']),
      );
      for (const query of queries) expect(query.traceId).toBe(traceId);
      const insert = queries.find((span) => span.name === 'INSERT rides');
      expect(insert?.attributes).toMatchObject({
        'db.operation.name': 'INSERT',
        'db.collection.name': 'rides',
      });
      // Statement summaries only: no bound value (the quote id, the rider) is copied into a span.
      const everyValue = JSON.stringify(spans.map((span) => span.attributes));
      expect(everyValue).not.toContain(quote.body.quoteId);
      expect(everyValue).not.toContain(alice.token);

      // The dispatcher heard of the ride within the booking's trace; no driver was free, so it batched.
      const considered = spans.find(
        (span) => span.name === 'dispatch ride' && span.attributes['peakride.ride_id'] === rideId,
      );
      expect(considered?.traceId).toBe(traceId);
      expect(considered?.attributes['peakride.dispatch.outcome']).toBe('batched');
      // Each batch is a trace of its own, with what it did.
      const batches = spans.filter((span) => span.name === 'dispatch batch');
      expect(batches.length).toBeGreaterThan(0);
      for (const batch of batches) {
        expect(batch.parentSpanId).toBe('');
        expect(batch.attributes).toMatchObject({ 'peakride.dispatch.rides': 1 });
      }
      // The offer was written by a dispatch pass (a batch, or a sweep offering at once), in its trace.
      const insertOffer = spans.find((span) => span.name === 'INSERT offers');
      const pass =
        insertOffer && ancestorsOf(insertOffer, spans).find((span) => span.name.startsWith('dispatch'));
      expect(pass, JSON.stringify(spans.filter((span) => span.name.startsWith('dispatch')))).toBeDefined();
      expect(pass?.name === 'dispatch batch' ? pass.attributes['peakride.dispatch.offers'] : 1).toBe(1);

      // Log lines written inside a span carry its ids.
      const batchLogs = server.logs.filter((line) => line.msg === 'dispatch batch');
      expect(batchLogs.length).toBe(batches.length);
      for (const line of batchLogs) {
        expect(
          batches.some((batch) => batch.traceId === line.trace_id && batch.spanId === line.span_id),
        ).toBe(true);
      }

      // Probes are not traced; the SDK was loaded (which the next test relies on the log to tell).
      expect(spans.some((span) => span.name.includes('/readyz'))).toBe(false);
      const modules = await readModuleLog(moduleLog);
      expect(modules.some((url) => url.includes('/@opentelemetry/sdk-trace-node/'))).toBe(true);
    },
    TIMEOUT_MS,
  );

  it(
    'When no OTLP endpoint is set, then the process loads no OpenTelemetry SDK module, only the API',
    async () => {
      const moduleLog = join(scratch, 'modules-off.txt');
      const server = await startEmbedded({ ...moduleLogEnv(moduleLog), LOG_LEVEL: 'trace' });
      cleanups.push(server.cleanup);
      const { rider, driver } = clientsOf(server);
      const dan = await driver();
      await dan.online(places.gareDuNord);
      const alice = await rider();
      const ride = await alice.requestRide(places.gareDuNord, places.gareDeLyon);
      expect((await dan.waitForOffer(10_000)).rideId).toBe(ride.id);
      expect(await server.stop('SIGTERM')).toBe(0);

      const modules = await eventually(
        () => readModuleLog(moduleLog),
        (urls) => urls.length > 0,
      );
      const otel = modules.filter((url) => url.includes('/@opentelemetry/'));
      // The API is loaded (our seams call it), which shows the log sees node_modules at all.
      expect(otel.some((url) => url.includes('/@opentelemetry/api/'))).toBe(true);
      expect(otel.filter((url) => !url.includes('/@opentelemetry/api/'))).toEqual([]);
      expect(server.logs.some((line) => String(line.msg).startsWith('tracing on'))).toBe(false);
      // At the most talkative level, the bearer tokens of those requests appear in no line.
      const output = JSON.stringify(server.logs);
      expect(output).toContain('peakride ready');
      for (const token of [alice.token, dan.token]) expect(output).not.toContain(token);
    },
    TIMEOUT_MS,
  );
});

describe('tracing configuration', () => {
  it('When no OTLP endpoint is set, then tracing is off', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_TRACES_SAMPLER: 'always_on' }).tracing).toBeUndefined();
  });

  it('When the general endpoint is set, then spans go to its /v1/traces; the traces endpoint is used as it is', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp',
        OTEL_SERVICE_NAME: 'rides-eu',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.05',
      }).tracing,
    ).toEqual({
      tracesUrl: 'https://traces.example/otlp',
      serviceName: 'rides-eu',
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.05,
    });
  });

  it('When a tracing variable is bad, then start-up stops naming it', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(() => loadConfig({ ...endpoint, OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...endpoint, OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(
      /OTEL_TRACES_SAMPLER/,
    );
    expect(() => loadConfig({ ...endpoint, OTEL_TRACES_SAMPLER_ARG: '1.5' })).toThrow(
      /OTEL_TRACES_SAMPLER_ARG/,
    );
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });
});
