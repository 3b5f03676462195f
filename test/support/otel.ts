import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/** One span as exported by OTLP/HTTP JSON, attributes flattened. */
export interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  status: { code?: number; message?: string };
  resource: Record<string, string | number | boolean>;
}

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
};
type OtlpAttribute = { key: string; value: OtlpValue };

const flatten = (attributes: OtlpAttribute[] = []) =>
  Object.fromEntries(
    attributes.map(({ key, value }) => [
      key,
      value.stringValue ??
        (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
        value.doubleValue ??
        value.boolValue ??
        '',
    ]),
  ) as Record<string, string | number | boolean>;

/** OTLP/JSON ids are hex; accept base64 too, should an exporter send the protobuf JSON mapping. */
const hexId = (id: string | undefined, length: number): string => {
  if (!id) return '';
  return new RegExp(`^[0-9a-f]{${length}}$`).test(id) ? id : Buffer.from(id, 'base64').toString('hex');
};

/**
 * A tiny OpenTelemetry collector: accepts `POST /v1/traces` (OTLP/HTTP, JSON) on a free port and
 * keeps every span, with the resource attributes of its batch.
 */
export const startCollector = async () => {
  const spans: ExportedSpan[] = [];
  let posts = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      posts++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const resourceSpans of body.resourceSpans ?? []) {
        const resource = flatten(resourceSpans.resource?.attributes);
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? []) {
            spans.push({
              traceId: hexId(span.traceId, 32),
              spanId: hexId(span.spanId, 16),
              parentSpanId: hexId(span.parentSpanId, 16),
              name: span.name,
              kind: span.kind,
              attributes: flatten(span.attributes),
              status: span.status ?? {},
              resource,
            });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    get posts() {
      return posts;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

const moduleLogHooks = fileURLToPath(new URL('./module-log.mjs', import.meta.url));

/**
 * Environment that makes a spawned Node process append every module URL it resolves through the
 * ES module loader to `file` (one per line): `NODE_OPTIONS=--import …/module-log.mjs`.
 */
export const moduleLogEnv = (file: string): Record<string, string> => ({
  NODE_OPTIONS: `--import ${moduleLogHooks}`,
  PEAKRIDE_TEST_MODULE_LOG: file,
});

export const readModuleLog = async (file: string): Promise<string[]> =>
  (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
