import { quietly, withSpan } from '../spans.js';
import type { Logger } from './dispatch.js';
import type { EventBus, UnitOfWork } from './ports.js';
import { repeat } from './repeat.js';

export interface OutboxRelayOptions {
  /** Pause between rounds once the outbox is empty. */
  intervalMs: number;
  /** Messages claimed per transaction. */
  batchSize?: number;
}

const DEFAULT_BATCH_SIZE = 200;

/**
 * Moves outbox rows to the event bus, at least once. A round claims the oldest rows (rows another
 * relay holds are skipped, so several relays share the work), publishes them and commits only
 * after the publish succeeded: a failed publish rolls back and the rows wait for the next round.
 * A crash between publish and commit publishes them again; subscribers drop what they have seen.
 */
export const createOutboxRelay = (
  uow: UnitOfWork,
  bus: EventBus,
  logger: Logger,
  { intervalMs, batchSize = DEFAULT_BATCH_SIZE }: OutboxRelayOptions,
) => {
  /**
   * One round; answers how many messages were published. Rounds run every few tens of
   * milliseconds and mostly find nothing: only a round that publishes is traced, in a trace of its
   * own (its messages come from many requests).
   */
  const relayOnce = (): Promise<number> =>
    quietly(() =>
      uow.transact(async (stores) => {
        const messages = await stores.outbox.claim(batchSize);
        if (messages.length > 0) {
          await withSpan(
            'outbox relay',
            { root: true, attributes: { 'peakride.messages': messages.length } },
            () => bus.publish(messages),
          );
        }
        return messages.length;
      }),
    );

  /** Rounds back to back while they come back full: a backlog is drained without waiting. */
  const drain = async () => {
    let published = batchSize;
    while (!rounds.stopped && published === batchSize) published = await relayOnce();
  };

  const rounds = repeat(drain, (error) => logger.warn({ err: error }, 'outbox relay round failed; retrying'));

  return {
    relayOnce,
    start(): void {
      rounds.start(intervalMs);
    },
    /** Lets the current round finish; rows it did not claim stay for the next relay to run. */
    stop: rounds.stop,
  };
};

export type OutboxRelay = ReturnType<typeof createOutboxRelay>;
