import type { Logger } from './dispatch.js';
import type { FlowDeps } from './ports.js';

/** Replays are guaranteed for a day; after that a key may be reused and its row can go. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 3600 * 1000;
const HOUSEKEEPING_INTERVAL_MS = 60_000;

export const createHousekeeping = ({ uow, clock }: Pick<FlowDeps, 'uow' | 'clock'>, logger: Logger) => {
  let timer: NodeJS.Timeout | undefined;

  const forgetOldIdempotencyKeys = async () => {
    const cutoff = new Date(clock.now().getTime() - IDEMPOTENCY_RETENTION_MS);
    const deleted = await uow.stores.idempotency.deleteCreatedBefore(cutoff);
    if (deleted > 0) logger.info({ deleted }, 'expired idempotency keys removed');
  };

  return {
    forgetOldIdempotencyKeys,
    start() {
      timer = setInterval(() => {
        forgetOldIdempotencyKeys().catch((error) => logger.warn({ err: error }, 'housekeeping failed'));
      }, HOUSEKEEPING_INTERVAL_MS);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
};
