import { DomainError } from '../../domain/errors.js';
import type { Stores, UnitOfWork } from '../../flows/ports.js';
import type { Database, Queryable } from './database.js';
import { createIdempotencyRepository } from './idempotency.repository.js';
import { createLeaseRepository } from './leases.repository.js';
import { createOfferRepository } from './offers.repository.js';
import { createOutboxRepository } from './outbox.repository.js';
import { createDriverRepository, createRiderRepository } from './parties.repository.js';
import { createQuoteRepository } from './quotes.repository.js';
import { createRideEventRepository } from './ride-events.repository.js';
import { createRideRepository } from './rides.repository.js';

const storesOn = (db: Queryable): Stores => ({
  riders: createRiderRepository(db),
  drivers: createDriverRepository(db),
  quotes: createQuoteRepository(db),
  rides: createRideRepository(db),
  offers: createOfferRepository(db),
  events: createRideEventRepository(db),
  idempotency: createIdempotencyRepository(db),
  outbox: createOutboxRepository(db),
  leases: createLeaseRepository(db),
});

/**
 * When a race gets past the checks in the flows, a constraint refuses the write; the
 * transaction is rolled back and the caller gets the same coded error the check would give.
 */
const constraintErrors: Record<string, DomainError> = {
  rides_one_active_per_driver: new DomainError(
    'DRIVER.HAS_ACTIVE_RIDE',
    'The driver already has an active ride.',
  ),
  rides_one_open_per_rider: new DomainError(
    'RIDE.RIDER_HAS_ACTIVE_RIDE',
    'The rider already has an open ride.',
  ),
  rides_guard_transition: new DomainError('RIDE.INVALID_TRANSITION', 'The ride changed state meanwhile.'),
  offers_answer_once: new DomainError('OFFER.ALREADY_TAKEN', 'The offer was already answered.'),
};

const translateConstraint = (error: unknown): unknown => {
  const candidate = error as { code?: unknown; constraint?: unknown };
  if (
    (candidate?.code === '23505' || candidate?.code === '23514') &&
    typeof candidate.constraint === 'string'
  ) {
    const known = constraintErrors[candidate.constraint];
    if (known) return new DomainError(known.code, known.message);
  }
  return error;
};

export const createUnitOfWork = (db: Database): UnitOfWork => ({
  stores: storesOn(db),
  async transact(work) {
    try {
      return await db.transaction((tx) => work(storesOn(tx)));
    } catch (error) {
      throw translateConstraint(error);
    }
  },
});
