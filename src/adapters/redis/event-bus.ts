import { Redis } from 'ioredis';
import type { EventBus, OutboxMessage } from '../../flows/ports.js';
import { redactRedisUrl, redisSpan } from './connection.js';

export interface RedisEventBusOptions {
  url: string;
  /** Prepended to the channel name, so deployments (and test files) sharing a Redis never meet. */
  prefix: string;
  logger?: { warn(obj: object, msg?: string): void };
  /** A publish that takes longer fails, so the relay rolls back and retries instead of hanging. */
  publishTimeoutMs?: number;
}

type Subscriber = { onMessage: (message: OutboxMessage) => void; onResync: (() => void) | undefined };

/**
 * Redis pub/sub between processes. A batch of messages is one PUBLISH (a JSON array) on one
 * channel; every process subscribed to it receives every message. Pub/sub keeps nothing for a
 * disconnected subscriber, so after a reconnection the subscribers are told to resync from the
 * database. The subscriber has its own connection: one in subscribe mode can publish nothing.
 */
export const createRedisEventBus = async (options: RedisEventBusOptions): Promise<EventBus> => {
  const channel = `${options.prefix}events`;
  // No offline queue: while Redis is away a publish fails at once (the outbox keeps the rows)
  // rather than piling up in memory.
  // Named, so CLIENT LIST tells operators which connection is which.
  const publisher = new Redis(options.url, {
    connectionName: `${options.prefix}events-publisher`,
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout: options.publishTimeoutMs ?? 2000,
    maxRetriesPerRequest: 1,
  });
  const subscriber = new Redis(options.url, {
    connectionName: `${options.prefix}events-subscriber`,
    lazyConnect: true,
  });
  const subscribers = new Set<Subscriber>();
  let closed = false;

  const warn = (what: string) => (error: unknown) => options.logger?.warn({ err: error }, what);
  // Without a listener ioredis prints every reconnection error to stderr; it reconnects by itself.
  publisher.on('error', warn('redis event bus: publisher connection error'));
  subscriber.on('error', warn('redis event bus: subscriber connection error'));

  subscriber.on('message', (from: string, text: string) => {
    if (from !== channel) return;
    let messages: unknown;
    try {
      messages = JSON.parse(text);
    } catch (error) {
      warn('redis event bus: a message that is not JSON was ignored')(error);
      return;
    }
    if (!Array.isArray(messages)) return;
    for (const message of messages as OutboxMessage[]) {
      for (const { onMessage } of subscribers) {
        try {
          onMessage(message);
        } catch (error) {
          warn('redis event bus: a subscriber failed')(error);
        }
      }
    }
  });

  let lastError: unknown;
  const remember = (error: unknown) => {
    lastError = error;
  };
  publisher.on('error', remember);
  subscriber.on('error', remember);
  try {
    await Promise.all([publisher.connect(), subscriber.connect()]);
    await subscriber.subscribe(channel);
  } catch (error) {
    publisher.disconnect();
    subscriber.disconnect();
    // ioredis reports "Connection is closed"; the socket's own error says why.
    const reason = lastError ?? error;
    throw new Error(
      `Redis at ${redactRedisUrl(options.url)} is unreachable: ${reason instanceof Error ? reason.message : String(reason)}`,
      { cause: reason },
    );
  } finally {
    publisher.off('error', remember);
    subscriber.off('error', remember);
  }

  // 'ready' after the first connection means a reconnection: ioredis subscribes again by itself;
  // once our own SUBSCRIBE is answered the channel is live, and what was missed is re-read.
  subscriber.on('ready', () => {
    if (closed) return;
    subscriber
      .subscribe(channel)
      .then(() => {
        for (const { onResync } of subscribers) onResync?.();
      })
      .catch(warn('redis event bus: resubscribing failed'));
  });

  return {
    async publish(messages) {
      if (closed) throw new Error('the event bus is closed');
      if (messages.length === 0) return;
      await redisSpan('PUBLISH', channel, { 'peakride.messages': messages.length }, () =>
        publisher.publish(channel, JSON.stringify(messages)),
      );
    },
    subscribe(onMessage, onResync) {
      const entry: Subscriber = { onMessage, onResync };
      subscribers.add(entry);
      return () => {
        subscribers.delete(entry);
      };
    },
    async close() {
      closed = true;
      subscribers.clear();
      // Nothing is in flight worth waiting for: every publish was awaited by its caller.
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
};
