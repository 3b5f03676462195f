import { type DiagLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import type { TracingConfig } from '../config.js';
import { turnTracingOn } from '../spans.js';

export interface Tracing {
  /** Exports the spans still buffered, then stops exporting: the last step before exit. */
  shutdown(): Promise<void>;
}

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** The URL as it may be logged: credentials in it (`https://user:key@…`) are masked. */
export const redactUrl = (url: string): string => {
  const parsed = new URL(url);
  if (parsed.username) parsed.username = '***';
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
};

/** The SDK's own complaints (an export that failed, a full queue), as warnings without their arguments. */
const diagnostics = (logger: Logger): DiagLogger => {
  const warn = (message: string) => logger.warn({}, `tracing: ${message}`);
  return { error: warn, warn, info: () => {}, debug: () => {}, verbose: () => {} };
};

/**
 * Turns tracing on when an OTLP endpoint is configured: loads the OpenTelemetry SDK (only then:
 * it is not on the start path of a process that does not trace), registers a tracer provider with
 * an AsyncLocalStorage context manager (spans nest across awaits) and the W3C trace-context
 * propagator, and batches spans to the collector over OTLP/HTTP (JSON). Other `OTEL_*` variables
 * the SDK reads itself (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_BSP_*`, `OTEL_RESOURCE_ATTRIBUTES`)
 * apply too. Answers undefined when tracing is off.
 */
export const startTracing = async (
  config: TracingConfig | undefined,
  role: string,
  logger: Logger,
): Promise<Tracing | undefined> => {
  if (!config) return undefined;
  const [node, otlp, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const ratio = new node.TraceIdRatioBasedSampler(config.samplerRatio);
  const sampler = {
    always_on: new node.AlwaysOnSampler(),
    always_off: new node.AlwaysOffSampler(),
    traceidratio: ratio,
    parentbased_always_on: new node.ParentBasedSampler({ root: new node.AlwaysOnSampler() }),
    parentbased_always_off: new node.ParentBasedSampler({ root: new node.AlwaysOffSampler() }),
    parentbased_traceidratio: new node.ParentBasedSampler({ root: ratio }),
  }[config.sampler];
  const serviceName = config.serviceName ?? `peakride-${role}`;
  diag.setLogger(diagnostics(logger), DiagLogLevel.WARN);
  const provider = new node.NodeTracerProvider({
    resource: resources
      .defaultResource()
      .merge(resources.resourceFromAttributes({ 'service.name': serviceName, 'peakride.role': role })),
    sampler,
    spanProcessors: [new node.BatchSpanProcessor(new otlp.OTLPTraceExporter({ url: config.tracesUrl }))],
  });
  provider.register();
  turnTracingOn();
  logger.info(
    { endpoint: redactUrl(config.tracesUrl), serviceName, sampler: config.sampler },
    'tracing on: spans exported by OTLP/HTTP',
  );
  return {
    shutdown: () => provider.shutdown(),
  };
};
