import type { StoredResponse, Stores } from '../../flows/ports.js';
import type { Queryable } from './database.js';

export const createIdempotencyRepository = (db: Queryable): Stores['idempotency'] => ({
  async claim(riderId, key, requestHash, now) {
    // A concurrent duplicate blocks here until the first transaction commits, then finds its row:
    // the database, not a lock in this process, makes duplicates wait for the first answer.
    const inserted = await db.query(
      `INSERT INTO idempotency_keys (rider_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (rider_id, key) DO NOTHING RETURNING key`,
      [riderId, key, requestHash, now],
    );
    if (inserted.length === 1) return { claimed: true };
    const [row] = await db.query<{ request_hash: string; status_code: number | null; response: unknown }>(
      'SELECT request_hash, status_code, response FROM idempotency_keys WHERE rider_id = $1 AND key = $2',
      [riderId, key],
    );
    if (!row) throw new Error('idempotency key vanished between insert and read');
    const response: StoredResponse | null =
      row.status_code === null ? null : { statusCode: row.status_code, body: row.response };
    return { claimed: false, requestHash: row.request_hash, response };
  },

  async complete(riderId, key, response) {
    await db.query(
      'UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE rider_id = $1 AND key = $2',
      [riderId, key, response.statusCode, JSON.stringify(response.body)],
    );
  },

  async deleteCreatedBefore(cutoff) {
    const rows = await db.query('DELETE FROM idempotency_keys WHERE created_at < $1 RETURNING key', [cutoff]);
    return rows.length;
  },
});
