import { randomUUID } from 'node:crypto';
import type { Static } from 'typebox';
import { Pool, WebSocket } from 'undici';
import type { OfferJson, QuoteResponse, RideEventJson, RideJson } from '../http/schemas.js';
import type { RequestClass } from './types.js';

export type Quote = Static<typeof QuoteResponse>;
export type Ride = RideJson;
export type Offer = Static<typeof OfferJson>;
export type RideEvent = Static<typeof RideEventJson>;

export interface Answer<Body> {
  /** 0 when no answer came (connection refused or reset, timeout). */
  status: number;
  body: Body | undefined;
  /** A 503 `SERVICE.OVERLOADED`: load shedding, not a failure. */
  shed: boolean;
  retryAfterSeconds: number | undefined;
}

export interface CallOptions {
  token: string;
  body?: unknown;
  /** The wall time (performance.now() ms) the request was due to leave: its latency counts from there. */
  scheduledMs: number;
  idempotencyKey?: string;
}

/** Where each answer goes: its class, status, latency from the scheduled time, and whether it was shed. */
export type AnswerSink = (kind: RequestClass, status: number, latencyMs: number, shed: boolean) => void;

/** A request that does not answer within this is recorded as failed (status 0). */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The public API as the agents use it: HTTP/1.1 keep-alive through one undici pool, every answer
 * recorded with its latency from the time the request was scheduled (open model).
 */
export const createApiClient = (
  target: string,
  record: AnswerSink,
  connections = 128,
  /** WebSockets this client opens at most at once (the process's open files bound them). */
  socketBudget = Number.POSITIVE_INFINITY,
) => {
  const sockets = { open: 0, peak: 0, overBudget: 0 };
  const pool = new Pool(target, {
    connections,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });

  const call = async <Body>(
    kind: RequestClass,
    method: 'GET' | 'POST',
    path: string,
    { token, body, scheduledMs, idempotencyKey }: CallOptions,
  ): Promise<Answer<Body>> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    try {
      const response = await pool.request({
        method,
        path,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.body.text();
      const parsed = text ? (JSON.parse(text) as unknown) : undefined;
      const shed =
        response.statusCode === 503 && (parsed as { title?: unknown })?.title === 'SERVICE.OVERLOADED';
      const retryAfter = Number(response.headers['retry-after']);
      record(kind, response.statusCode, performance.now() - scheduledMs, shed);
      return {
        status: response.statusCode,
        body: parsed as Body,
        shed,
        retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : undefined,
      };
    } catch {
      record(kind, 0, performance.now() - scheduledMs, false);
      return { status: 0, body: undefined, shed: false, retryAfterSeconds: undefined };
    }
  };

  return {
    target,
    call,
    /** A development token (`AUTH_MODE=dev` on the target): setup, not part of the measured load. */
    async token(role: 'rider' | 'driver' | 'ops', subject: string): Promise<string> {
      for (let attempt = 0; ; attempt++) {
        const response = await pool
          .request({
            method: 'POST',
            path: '/v1/dev/tokens',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ role, subject }),
          })
          .catch(() => undefined);
        const text = response ? await response.body.text() : '';
        if (response?.statusCode === 201) return (JSON.parse(text) as { token: string }).token;
        if (response?.statusCode === 404) {
          throw new Error(
            `${target} does not issue development tokens: run it with AUTH_MODE=dev (docs/simulator.md)`,
          );
        }
        if (attempt >= 20)
          throw new Error(`${target}: POST /v1/dev/tokens answered ${response?.statusCode ?? 'nothing'}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    /** The target's /metrics text, or undefined when it has none to give. */
    async metrics(): Promise<string | undefined> {
      const response = await pool.request({ method: 'GET', path: '/metrics' }).catch(() => undefined);
      if (!response) return undefined;
      const text = await response.body.text();
      return response.statusCode === 200 ? text : undefined;
    },
    /**
     * A live connection (docs/realtime.md) carrying the token as a subprotocol, as a browser does;
     * undefined when the budget is spent, and the agent polls instead, as an app whose socket
     * cannot connect does.
     */
    realtime(token: string): WebSocket | undefined {
      if (sockets.open >= socketBudget) {
        sockets.overBudget++;
        return undefined;
      }
      const url = new URL('/v1/realtime', target);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      const socket = new WebSocket(url, ['peakride.v1', `bearer.${token}`]);
      sockets.peak = Math.max(sockets.peak, ++sockets.open);
      socket.addEventListener('close', () => sockets.open--);
      return socket;
    },
    /** WebSockets: the budget, the most open at once, and how many agents polled for want of one. */
    webSockets: () => ({
      budget: Number.isFinite(socketBudget) ? socketBudget : null,
      peakOpen: sockets.peak,
      overBudget: sockets.overBudget,
    }),
    newIdempotencyKey: () => randomUUID(),
    close: () => pool.close(),
  };
};

export type ApiClient = ReturnType<typeof createApiClient>;
