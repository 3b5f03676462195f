import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  type SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

/**
 * Spans at peakride's own seams (HTTP, database, Redis, dispatch), through the OpenTelemetry API
 * only: the SDK is loaded by ops/tracing.ts when an OTLP endpoint is configured, and nowhere else.
 * Until it turns tracing on, `withSpan` runs the work straight away without creating even a no-op
 * span, so the hot paths (location updates, queries) pay one boolean test.
 */

const tracer = trace.getTracer('peakride');
let on = false;

/** True once ops/tracing.ts has registered a tracer provider. */
export const tracingOn = (): boolean => on;

/** Called by ops/tracing.ts, and only after its provider is registered. */
export const turnTracingOn = (): void => {
  on = true;
};

/** What `work` gets while tracing is off or quiet: setting attributes on it does nothing. */
const idle: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

const QUIET = createContextKey('peakride.quiet');

/**
 * Runs `work` without spans: for the polls of background loops (the outbox every 50 ms, the
 * timers and the dispatch sweep twice a second), which would otherwise bury the traces that
 * matter under thousands of empty ones. Their passes open a span once they find work.
 */
export const quietly = <T>(work: () => Promise<T>): Promise<T> =>
  on ? context.with(context.active().setValue(QUIET, true), work) : work();

export interface SpanStart {
  kind?: SpanKind;
  attributes?: Attributes;
  /**
   * A new trace rather than a child of the active span: for work scheduled from a request (a
   * dispatch batch collects rides from many) or done inside a quiet poll that found something.
   */
  root?: boolean;
}

/**
 * Runs `work` in a span that is active for everything it awaits and ends when it settles; an
 * error is recorded and marks the span failed before it is thrown on.
 */
export const withSpan = <T>(
  name: string,
  start: SpanStart | undefined,
  work: (span: Span) => Promise<T>,
): Promise<T> => {
  if (!on) return work(idle);
  const parent = start?.root ? ROOT_CONTEXT : context.active();
  if (parent.getValue(QUIET)) return work(idle);
  const span = tracer.startSpan(
    name,
    {
      ...(start?.kind !== undefined ? { kind: start.kind } : {}),
      ...(start?.attributes ? { attributes: start.attributes } : {}),
    },
    parent,
  );
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await work(span);
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
};

/** Starts a span the caller ends (an HTTP request spans several hooks); see `withSpan`. */
export const startSpan = (name: string, kind: SpanKind, attributes: Attributes, parent: Context): Span =>
  tracer.startSpan(name, { kind, attributes }, parent);

/** Records the error on the span and marks it failed (the message only: no values of its own). */
export const markFailed = (span: Span, error: unknown): void => {
  if (error instanceof Error) {
    span.recordException({
      name: error.name,
      message: error.message,
      ...(error.stack ? { stack: error.stack } : {}),
    });
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  } else {
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
  }
};

/**
 * The active span's ids, for log lines (a pino mixin, installed only while tracing is on): a
 * log line and its trace can be found from one another.
 */
export const traceFields = (): Record<string, string> => {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const ids = span.spanContext();
  return isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
};
