import type { Ride, RideStatus } from '../../domain/ride.js';
import type { Stores } from '../../flows/ports.js';
import type { Queryable } from './database.js';

interface RideRow {
  id: string;
  rider_id: string;
  driver_id: string | null;
  status: RideStatus;
  city: string;
  pickup_lat: number;
  pickup_lng: number;
  dropoff_lat: number;
  dropoff_lng: number;
  fare_amount: number;
  currency: string;
  surge: number;
  distance_meters: number;
  duration_seconds: number;
  quote_id: string;
  search_deadline: Date;
  cancelled_by: 'rider' | 'driver' | null;
  cancel_reason: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const toRide = (row: RideRow): Ride => ({
  id: row.id,
  riderId: row.rider_id,
  driverId: row.driver_id,
  status: row.status,
  city: row.city,
  pickup: { lat: row.pickup_lat, lng: row.pickup_lng },
  dropoff: { lat: row.dropoff_lat, lng: row.dropoff_lng },
  fare: { amount: row.fare_amount, currency: row.currency },
  surge: row.surge,
  distanceMeters: row.distance_meters,
  durationSeconds: row.duration_seconds,
  quoteId: row.quote_id,
  searchDeadline: row.search_deadline,
  cancellation: row.cancelled_by ? { by: row.cancelled_by, reason: row.cancel_reason } : null,
  version: row.version,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const driverActive = `('driver_assigned', 'driver_arrived', 'in_progress')`;

export const createRideRepository = (db: Queryable): Stores['rides'] => ({
  async insert(ride) {
    // ON CONFLICT also covers rides_one_open_per_rider: a concurrent second booking waits
    // for the first to commit and then inserts nothing, without aborting the transaction.
    const rows = await db.query(
      `INSERT INTO rides (id, rider_id, driver_id, status, city, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng,
         fare_amount, currency, surge, distance_meters, duration_seconds, quote_id, search_deadline, version,
         created_at, updated_at)
       VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [
        ride.id,
        ride.riderId,
        ride.status,
        ride.city,
        ride.pickup.lat,
        ride.pickup.lng,
        ride.dropoff.lat,
        ride.dropoff.lng,
        ride.fare.amount,
        ride.fare.currency,
        ride.surge,
        ride.distanceMeters,
        ride.durationSeconds,
        ride.quoteId,
        ride.searchDeadline,
        ride.version,
        ride.createdAt,
      ],
    );
    return rows.length === 1;
  },

  async get(rideId) {
    const [row] = await db.query<RideRow>('SELECT * FROM rides WHERE id = $1', [rideId]);
    return row && toRide(row);
  },

  async getForUpdate(rideId) {
    const [row] = await db.query<RideRow>('SELECT * FROM rides WHERE id = $1 FOR UPDATE', [rideId]);
    return row && toRide(row);
  },

  async update(ride, expectedStatus) {
    const rows = await db.query(
      `UPDATE rides
          SET status = $3, driver_id = $4, search_deadline = $5, cancelled_by = $6, cancel_reason = $7,
              version = $8, updated_at = $9
        WHERE id = $1 AND status = $2
        RETURNING id`,
      [
        ride.id,
        expectedStatus,
        ride.status,
        ride.driverId,
        ride.searchDeadline,
        ride.cancellation?.by ?? null,
        ride.cancellation?.reason ?? null,
        ride.version,
        ride.updatedAt,
      ],
    );
    return rows.length === 1;
  },

  async activeForDriver(driverId) {
    const [row] = await db.query<RideRow>(
      `SELECT * FROM rides WHERE driver_id = $1 AND status IN ${driverActive}`,
      [driverId],
    );
    return row && toRide(row);
  },

  async searchingPastDeadline(now, limit) {
    const rows = await db.query<{ id: string }>(
      `SELECT id FROM rides WHERE status = 'searching' AND search_deadline <= $1
        ORDER BY search_deadline LIMIT $2`,
      [now, limit],
    );
    return rows.map((row) => row.id);
  },

  async searchingWithoutLiveOffer(limit, cities) {
    // Oldest first, so a ride that has waited longest is offered the next free driver.
    const rows = await db.query<RideRow>(
      `SELECT r.* FROM rides r
        WHERE r.status = 'searching'
          AND ($2::text[] IS NULL OR r.city = ANY($2::text[]))
          AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.ride_id = r.id AND o.status = 'pending')
        ORDER BY r.created_at LIMIT $1`,
      [limit, cities ?? null],
    );
    return rows.map(toRide);
  },

  async searchingCountByCity() {
    // The partial index rides_searching_by_deadline holds only searching rides: finished ones need not be read.
    const rows = await db.query<{ city: string; searching: number }>(
      `SELECT city, count(*)::int AS searching FROM rides WHERE status = 'searching' GROUP BY city`,
    );
    return Object.fromEntries(rows.map((row) => [row.city, row.searching]));
  },
});
