import type { OutboxMessage, Stores } from '../../flows/ports.js';
import type { Queryable } from './database.js';

export const createOutboxRepository = (db: Queryable): Stores['outbox'] => ({
  async add(message) {
    await db.query('INSERT INTO outbox (kind, payload) VALUES ($1, $2)', [
      message.kind,
      JSON.stringify(message.payload),
    ]);
  },

  // SKIP LOCKED lets several relays drain the table at once without waiting on each other or
  // taking the same rows; RETURNING has no order of its own, hence the outer ORDER BY.
  async claim(limit) {
    return db.query<OutboxMessage>(
      `WITH claimed AS (
         DELETE FROM outbox WHERE id IN (
           SELECT id FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
         ) RETURNING id, kind, payload
       )
       SELECT kind, payload FROM claimed ORDER BY id`,
      [limit],
    );
  },
});
