import type { SupplyState } from '../../dispatch/supply-index.js';
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

  async onlineStates(driverIds) {
    if (driverIds.length === 0) return new Map();
    const rows = await db.query<{ id: string; state: SupplyState }>(
      `SELECT d.id,
              CASE WHEN EXISTS (SELECT 1 FROM rides r WHERE r.driver_id = d.id
                                   AND r.status IN ('driver_assigned', 'driver_arrived', 'in_progress'))
                     THEN 'on_ride'
                   WHEN EXISTS (SELECT 1 FROM offers o WHERE o.driver_id = d.id AND o.status = 'pending')
                     THEN 'offered'
                   ELSE 'available' END AS state
         FROM drivers d
        WHERE d.id = ANY($1::text[]) AND d.status = 'online'`,
      [driverIds],
    );
    return new Map(rows.map((row) => [row.id, row.state]));
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
