import type { RideStatus } from '../../domain/ride.js';
import type { RideEvent, Stores } from '../../flows/ports.js';
import type { Queryable } from './database.js';

interface RideEventRow {
  ride_id: string;
  seq: number;
  type: string;
  status: RideStatus;
  actor_role: RideEvent['actor']['role'];
  actor_id: string | null;
  reason: string | null;
  data: Record<string, unknown>;
  at: Date;
}

const toEvent = (row: RideEventRow): RideEvent => ({
  rideId: row.ride_id,
  seq: row.seq,
  type: row.type,
  status: row.status,
  actor: { role: row.actor_role, id: row.actor_id },
  reason: row.reason,
  data: row.data,
  at: row.at,
});

export const createRideEventRepository = (db: Queryable): Stores['events'] => ({
  async append(event) {
    await db.query(
      `INSERT INTO ride_events (ride_id, seq, type, status, actor_role, actor_id, reason, data, at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        event.rideId,
        event.seq,
        event.type,
        event.status,
        event.actor.role,
        event.actor.id,
        event.reason,
        JSON.stringify(event.data),
        event.at,
      ],
    );
  },

  async list(rideId) {
    const rows = await db.query<RideEventRow>('SELECT * FROM ride_events WHERE ride_id = $1 ORDER BY seq', [
      rideId,
    ]);
    return rows.map(toEvent);
  },
});
