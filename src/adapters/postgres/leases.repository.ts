import type { Stores } from '../../flows/ports.js';
import type { Queryable } from './database.js';

const interval = (ms: number) => `${Math.max(1, Math.round(ms))} milliseconds`;

export const createLeaseRepository = (db: Queryable): Stores['leases'] => ({
  async heartbeat(holder, ttlMs) {
    await db.query(
      `INSERT INTO dispatch_members (holder, seen_at) VALUES ($1, now())
       ON CONFLICT (holder) DO UPDATE SET seen_at = now()`,
      [holder],
    );
    // Members gone for ten lease periods are forgotten; a lease period decides who is live.
    await db.query('DELETE FROM dispatch_members WHERE seen_at < now() - $1::interval', [
      interval(10 * ttlMs),
    ]);
    const [row] = await db.query<{ live: number }>(
      'SELECT count(*)::int AS live FROM dispatch_members WHERE seen_at >= now() - $1::interval',
      [interval(ttlMs)],
    );
    return row?.live ?? 1;
  },

  async renew(holder, partitions, ttlMs) {
    if (partitions.length === 0) return [];
    const rows = await db.query<{ partition: string }>(
      `UPDATE dispatch_leases SET expires_at = now() + $3::interval
        WHERE holder = $1 AND partition = ANY($2::text[]) AND expires_at > now()
        RETURNING partition`,
      [holder, partitions, interval(ttlMs)],
    );
    return rows.map((row) => row.partition);
  },

  async claim(holder, partition, ttlMs) {
    // Takes a partition nobody holds or whose lease ran out; a live lease is never taken over.
    const rows = await db.query(
      `INSERT INTO dispatch_leases (partition, holder, expires_at) VALUES ($1, $2, now() + $3::interval)
       ON CONFLICT (partition) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE dispatch_leases.expires_at <= now() OR dispatch_leases.holder = EXCLUDED.holder
       RETURNING partition`,
      [partition, holder, interval(ttlMs)],
    );
    return rows.length === 1;
  },

  async release(holder, partitions) {
    if (partitions.length === 0) return;
    await db.query('DELETE FROM dispatch_leases WHERE holder = $1 AND partition = ANY($2::text[])', [
      holder,
      partitions,
    ]);
  },

  async leave(holder) {
    await db.query('DELETE FROM dispatch_leases WHERE holder = $1', [holder]);
    await db.query('DELETE FROM dispatch_members WHERE holder = $1', [holder]);
  },

  async holders() {
    return db.query<{ partition: string; holder: string }>(
      'SELECT partition, holder FROM dispatch_leases WHERE expires_at > now() ORDER BY partition',
    );
  },
});
