import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { places } from '../support/platform.js';
import { clientsOf, startEmbedded } from '../support/processes.js';
import { connectLive } from '../support/realtime.js';
import { offset } from '../support/scenes.js';

/**
 * SIGTERM under a steady stream of requests, against the real process: readiness flips first,
 * the process keeps serving through its drain delay, every request sent before the drain ends gets
 * its answer, WebSocket clients are told to reconnect, and the exit is 0 within the grace period.
 */

const DRAIN_DELAY_MS = 2000;
const GRACE_MS = 10_000;
const WORKERS = 6;

interface Outcome {
  sentAt: number;
  status?: number;
  connectionClose?: boolean;
  error?: string;
}

describe('Given the embedded platform under a steady stream of requests', () => {
  let server: Awaited<ReturnType<typeof startEmbedded>>;

  beforeAll(async () => {
    server = await startEmbedded({
      PEAKRIDE_DRAIN_DELAY_SECONDS: String(DRAIN_DELAY_MS / 1000),
      PEAKRIDE_SHUTDOWN_GRACE_SECONDS: String(GRACE_MS / 1000),
    });
  }, 120_000);
  afterAll(() => server?.cleanup());

  it('When it gets SIGTERM, then readiness flips at once, requests sent during the drain are all answered, live clients are told to reconnect and it exits 0 within the grace period', async () => {
    const clients = clientsOf(server);
    const drivers = await Promise.all(Array.from({ length: WORKERS }, () => clients.driver()));
    await Promise.all(drivers.map((d, i) => d.online(offset(places.gareDuNord, 100 * i))));
    const rider = await clients.rider();
    const live = await connectLive(`${server.url.replace(/^http/, 'ws')}/v1/realtime`, {
      token: rider.token,
    });

    // Keep-alive connections, as a load balancer or a busy client holds them.
    const agent = new Agent({ connections: WORKERS, keepAliveTimeout: 30_000 });
    const outcomes: Outcome[] = [];
    let stopAsked = Number.POSITIVE_INFINITY;
    let streaming = true;
    const stream = async (index: number) => {
      const driver = drivers[index]!;
      for (let n = 0; streaming; n++) {
        const sentAt = Date.now();
        try {
          const reply = await request(`${server.url}/v1/drivers/me/location`, {
            method: 'POST',
            dispatcher: agent,
            headers: { authorization: `Bearer ${driver.token}`, 'content-type': 'application/json' },
            body: JSON.stringify(offset(places.gareDuNord, 100 * index + (n % 50))),
          });
          await reply.body.dump();
          outcomes.push({
            sentAt,
            status: reply.statusCode,
            connectionClose: reply.headers.connection === 'close',
          });
        } catch (error) {
          const code = (error as { code?: string }).code ?? String(error);
          outcomes.push({ sentAt, error: code });
          // Refused: the server no longer listens; nothing was accepted.
          if (code === 'ECONNREFUSED') return;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    };
    const readiness: Array<{ at: number; status: number }> = [];
    const pollReadiness = async () => {
      while (streaming) {
        try {
          const reply = await fetch(`${server.url}/readyz`);
          await reply.arrayBuffer();
          readiness.push({ at: Date.now(), status: reply.status });
        } catch {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };

    const streams = [...drivers.map((_, i) => stream(i)), pollReadiness()];
    await new Promise((resolve) => setTimeout(resolve, 1000));
    stopAsked = Date.now();
    const exit = server.stop('SIGTERM');
    const exitCode = await exit;
    const exitedAt = Date.now();
    streaming = false;
    await Promise.all(streams);
    await agent.close();

    expect(exitCode).toBe(0);
    // The drain delay was honoured, and the whole shutdown fit in the grace period.
    expect(exitedAt - stopAsked).toBeGreaterThanOrEqual(DRAIN_DELAY_MS - 100);
    expect(exitedAt - stopAsked).toBeLessThan(GRACE_MS);

    // Readiness flipped first: well before the drain ended, while requests were still served.
    const firstUnready = readiness.find((r) => r.status === 503);
    expect(firstUnready, JSON.stringify(readiness.slice(-5))).toBeDefined();
    expect(readiness.filter((r) => r.at < stopAsked).every((r) => r.status === 200)).toBe(true);
    expect(firstUnready!.at - stopAsked).toBeLessThan(DRAIN_DELAY_MS / 2);

    // Served through the drain, each answer asking the client to move off this connection. (After
    // it, a request racing the listener's close may be refused or get Fastify's closing 503.)
    const drainEnd = stopAsked + DRAIN_DELAY_MS;
    const duringDrain = outcomes.filter((o) => o.sentAt > firstUnready!.at && o.sentAt < drainEnd - 100);
    expect(duringDrain.length).toBeGreaterThan(WORKERS);
    expect(duringDrain.filter((o) => !(o.status === 204 && o.connectionClose))).toEqual([]);

    // Every request sent before the drain ended was answered, and answered 204; after it, the
    // only failure allowed is a refused connection (never accepted).
    const beforeEnd = outcomes.filter((o) => o.sentAt < drainEnd - 100);
    expect(beforeEnd.length).toBeGreaterThan(20);
    expect(beforeEnd.filter((o) => o.status !== 204)).toEqual([]);
    const failures = outcomes.filter((o) => o.error !== undefined && o.error !== 'ECONNREFUSED');
    expect(
      failures.every((o) => o.sentAt >= drainEnd - 100),
      JSON.stringify(failures),
    ).toBe(true);

    // The live client was told to reconnect elsewhere, then closed with 1012 (service restart).
    const closed = await live.closed;
    expect(live.messages.some((m) => m.type === 'reconnect')).toBe(true);
    expect(closed.code).toBe(1012);

    const lines = server.logs.map((line) => line.msg);
    expect(lines.indexOf('draining: not ready, still serving')).toBeGreaterThan(-1);
    expect(lines.indexOf('stopped')).toBeGreaterThan(lines.indexOf('draining: not ready, still serving'));
  }, 60_000);
});
