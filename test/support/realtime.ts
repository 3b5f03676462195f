import WebSocket from 'ws';
import type { TestPlatform } from './platform.js';

/**
 * WebSocket clients for the live-update tests: a real `ws` client against the platform listening
 * on a free port (inject cannot upgrade a real socket).
 */

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON messages and assert on their shape.
export type Message = any;

/** Listens on a free port once; answers the WebSocket URL of GET /v1/realtime. */
export const realtimeUrl = async (t: TestPlatform): Promise<string> => {
  const address = t.platform.app.server.listening
    ? `http://127.0.0.1:${(t.platform.app.server.address() as { port: number }).port}`
    : await t.platform.app.listen({ port: 0, host: '127.0.0.1' });
  return `${address.replace(/^http/, 'ws')}/v1/realtime`;
};

export type TokenCarrier = 'header' | 'protocol' | 'query';

export interface ConnectOptions {
  token?: string;
  carrier?: TokenCarrier;
  /** false: the client ignores pings, as a dead peer would. */
  autoPong?: boolean;
}

const open = (url: string, { token, carrier = 'header', autoPong = true }: ConnectOptions) => {
  if (token === undefined) return new WebSocket(url, { autoPong });
  if (carrier === 'protocol') return new WebSocket(url, ['peakride.v1', `bearer.${token}`], { autoPong });
  if (carrier === 'query')
    return new WebSocket(`${url}?access_token=${encodeURIComponent(token)}`, { autoPong });
  return new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, autoPong });
};

export interface LiveClient {
  socket: WebSocket;
  /** Every message received, oldest first. */
  messages: Message[];
  send(message: unknown): void;
  sendRaw(data: string | Buffer, options?: { binary?: boolean }): void;
  /** Waits until `check` holds over the messages received so far; fails after `timeoutMs`. */
  until(check: (messages: Message[]) => boolean, timeoutMs?: number): Promise<Message[]>;
  /** Resolves with the close code and reason, whoever closed. */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/** Opens a connection and waits for the server's hello. */
export const connectLive = async (url: string, options: ConnectOptions): Promise<LiveClient> => {
  const socket = open(url, options);
  const messages: Message[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data) => {
    messages.push(JSON.parse(data.toString()));
    for (const wake of waiters) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of waiters) wake();
    });
  });
  socket.on('error', () => {});

  const until: LiveClient['until'] = (check, timeoutMs = 5000) =>
    new Promise((resolve, reject) => {
      const wake = () => {
        if (!check(messages)) return;
        clearTimeout(timer);
        waiters.delete(wake);
        resolve(messages);
      };
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(new Error(`timed out; messages so far: ${JSON.stringify(messages, null, 1)}`));
      }, timeoutMs);
      waiters.add(wake);
      wake();
    });

  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`upgrade refused: ${response.statusCode}`)),
    );
    socket.once('error', reject);
  });
  await until((received) => received.some((message) => message.type === 'hello'));

  return {
    socket,
    messages,
    send: (message) => socket.send(JSON.stringify(message)),
    sendRaw: (data, sendOptions) => socket.send(data, { binary: sendOptions?.binary ?? false }),
    until,
    closed,
    async close() {
      if (socket.readyState === WebSocket.CLOSED) return;
      socket.close();
      await closed;
    },
  };
};

/** An upgrade the server refused: its HTTP status, headers and parsed body. */
export const refusedUpgrade = (url: string, options: ConnectOptions) =>
  new Promise<{ status: number; contentType: string | undefined; body: Message }>((resolve, reject) => {
    const socket = open(url, options);
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      response.on('end', () => {
        resolve({
          status: response.statusCode ?? 0,
          contentType: response.headers['content-type'],
          body: text ? JSON.parse(text) : undefined,
        });
      });
    });
    socket.once('error', (error) => reject(error));
  });

/** The ride events received for one ride, in arrival order. */
export const rideEvents = (messages: Message[], rideId: string): Message[] =>
  messages.filter((message) => message.type === 'ride.event' && message.rideId === rideId);
