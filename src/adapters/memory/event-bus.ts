import type { EventBus, OutboxMessage } from '../../flows/ports.js';

type Handler = (message: OutboxMessage) => void;

/**
 * The event bus of the embedded mode: one process, so publishing is a synchronous loop over the
 * subscribers. Messages are shared, not copied: subscribers treat them as read-only.
 */
export const createMemoryEventBus = (onHandlerError: (error: unknown) => void = () => {}): EventBus => {
  const handlers = new Set<Handler>();
  let closed = false;
  return {
    async publish(messages) {
      if (closed) throw new Error('the event bus is closed');
      for (const message of messages) {
        for (const handler of handlers) {
          // One subscriber's bug must not keep the message from the others, nor fail the relay.
          try {
            handler(message);
          } catch (error) {
            onHandlerError(error);
          }
        }
      }
    },
    subscribe(onMessage) {
      // A nothing-lost bus: it never needs a resync.
      const handler: Handler = (message) => onMessage(message);
      handlers.add(handler);
      return () => {
        handlers.delete(handler);
      };
    },
    async close() {
      closed = true;
      handlers.clear();
    },
  };
};
