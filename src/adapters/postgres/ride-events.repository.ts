import type { Stores } from '../../flows/ports.js';
import type { Queryable } from './database.js';

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
});
