import type { DriverRecord, Stores } from '../../flows/ports.js';
import type { Queryable } from './database.js';

// Riders and drivers exist from their first call: identity is the token's subject.

export const createRiderRepository = (db: Queryable): Stores['riders'] => ({
  async ensure(riderId, now) {
    await db.query('INSERT INTO riders (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [
      riderId,
      now,
    ]);
  },
});

interface DriverRow {
  id: string;
  status: DriverRecord['status'];
  last_lat: number | null;
  last_lng: number | null;
}

export const createDriverRepository = (db: Queryable): Stores['drivers'] => ({
  async get(driverId) {
    const [row] = await db.query<DriverRow>(
      'SELECT id, status, last_lat, last_lng FROM drivers WHERE id = $1',
      [driverId],
    );
    if (!row) return undefined;
    const lastPosition =
      row.last_lat === null || row.last_lng === null ? null : { lat: row.last_lat, lng: row.last_lng };
    return { id: row.id, status: row.status, lastPosition };
  },

  async lockOnline(driverId) {
    const rows = await db.query<{ status: string }>('SELECT status FROM drivers WHERE id = $1 FOR SHARE', [
      driverId,
    ]);
    return rows[0]?.status === 'online';
  },

  async setStatus(driverId, status, position, now) {
    await db.query(
      `INSERT INTO drivers (id, status, last_lat, last_lng, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT (id) DO UPDATE
         SET status = EXCLUDED.status,
             last_lat = COALESCE(EXCLUDED.last_lat, drivers.last_lat),
             last_lng = COALESCE(EXCLUDED.last_lng, drivers.last_lng),
             updated_at = EXCLUDED.updated_at`,
      [driverId, status, position?.lat ?? null, position?.lng ?? null, now],
    );
  },
});
