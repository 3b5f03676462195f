import type { Logger } from './dispatch.js';
import type { FlowDeps } from './ports.js';

/** Replays are guaranteed for a day; after that a key may be reused and its row can go. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 3600 * 1000;
/** A quote nobody booked is kept this long past its expiry: a late booking still reads QUOTE.EXPIRED. */
export const QUOTE_RETENTION_MS = 3600 * 1000;
/** Quotes removed per statement; batches follow each other until none is left. */
const QUOTE_BATCH = 1000;
const HOUSEKEEPING_INTERVAL_MS = 60_000;

export const createHousekeeping = ({ uow, clock }: Pick<FlowDeps, 'uow' | 'clock'>, logger: Logger) => {
  let timer: NodeJS.Timeout | undefined;

  const forgetOldIdempotencyKeys = async () => {
    const cutoff = new Date(clock.now().getTime() - IDEMPOTENCY_RETENTION_MS);
    const deleted = await uow.stores.idempotency.deleteCreatedBefore(cutoff);
    if (deleted > 0) logger.info({ deleted }, 'expired idempotency keys removed');
  };

  const forgetUnusedQuotes = async () => {
    const cutoff = new Date(clock.now().getTime() - QUOTE_RETENTION_MS);
    let deleted = 0;
    for (;;) {
      const batch = await uow.stores.quotes.deleteUnusedExpiredBefore(cutoff, QUOTE_BATCH);
      deleted += batch;
      if (batch < QUOTE_BATCH) break;
    }
    if (deleted > 0) logger.info({ deleted }, 'unused expired quotes removed');
  };

  return {
    forgetOldIdempotencyKeys,
    forgetUnusedQuotes,
    start() {
      timer = setInterval(() => {
        forgetOldIdempotencyKeys().catch((error) => logger.warn({ err: error }, 'housekeeping failed'));
        forgetUnusedQuotes().catch((error) => logger.warn({ err: error }, 'housekeeping failed'));
      }, HOUSEKEEPING_INTERVAL_MS);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
};
