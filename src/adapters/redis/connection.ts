import { type Attributes, SpanKind } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { tracingOn, withSpan } from '../../spans.js';

export interface RedisConnectionOptions {
  url: string;
  /** Shown by CLIENT LIST (`CLIENT SETNAME`): which process and what for. No spaces. */
  name: string;
  /** Budget of the first connection, TCP and handshake included (default 3000 ms). */
  connectTimeoutMs?: number;
  /**
   * How long a reply may be awaited while a command is pending before the socket counts as dead
   * and is replaced (default 5000 ms). Keep it above any BLOCK timeout used on the connection.
   */
  socketTimeoutMs?: number;
  /** Told about connection errors; ioredis reconnects by itself. */
  onError?: (error: Error) => void;
}

/** The URL without its password, for messages. */
export const redactRedisUrl = (url: string): string => {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an invalid URL)';
  }
};

/**
 * Opens one ioredis connection with the options every peakride adapter wants, and resolves once
 * it is ready:
 * - at start, one attempt within `connectTimeoutMs`: an unreachable Redis rejects with an error
 *   naming it, instead of retrying forever while the process looks alive;
 * - once it has been ready, a lost connection is retried for ever (backoff up to 2 s, with jitter);
 * - no offline queue and no resending: a command issued while disconnected, or in flight when the
 *   connection drops, fails at once. Callers decide what a failure means; nothing piles up in
 *   memory during an outage, and a write is never replayed behind the caller's back.
 */
export const openRedisConnection = async (options: RedisConnectionOptions): Promise<Redis> => {
  const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
  let everReady = false;
  let lastError: Error | undefined;
  const client = new Redis(options.url, {
    lazyConnect: true,
    connectionName: options.name,
    connectTimeout: connectTimeoutMs,
    socketTimeout: options.socketTimeoutMs ?? 5000,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) =>
      everReady ? Math.min(50 * 2 ** Math.min(times, 6), 2000) + Math.floor(Math.random() * 100) : null,
  });
  // Without a listener ioredis prints every error to stderr.
  client.on('error', (error: Error) => {
    lastError = error;
    options.onError?.(error);
  });
  client.once('ready', () => {
    everReady = true;
  });

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${connectTimeoutMs} ms`)),
          connectTimeoutMs + 500,
        );
      }),
    ]);
  } catch (error) {
    client.disconnect();
    const reason = lastError ?? (error instanceof Error ? error : new Error(String(error)));
    throw new Error(`Redis at ${redactRedisUrl(options.url)} is unreachable: ${reason.message}`, {
      cause: reason,
    });
  } finally {
    clearTimeout(timer);
  }
  return client;
};

/**
 * A span for one command issued at one of our Redis seams (a publish, a stream write or read, a
 * snapshot), not for every command ioredis sends. `root`: the command serves many callers (a
 * group commit of many requests' writes), so it starts its own trace rather than join the first
 * caller's.
 */
export const redisSpan = <T>(
  command: string,
  target: string,
  attributes: Attributes,
  work: () => Promise<T>,
  root = false,
): Promise<T> =>
  tracingOn()
    ? withSpan(
        `${command} ${target}`,
        {
          kind: SpanKind.CLIENT,
          root,
          attributes: {
            'db.system': 'redis',
            'db.system.name': 'redis',
            'db.operation.name': command,
            'db.collection.name': target,
            ...attributes,
          },
        },
        work,
      )
    : work();
