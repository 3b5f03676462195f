import type { Offer, OfferStatus, Stores } from '../../flows/ports.js';
import type { Queryable } from './database.js';

interface OfferRow {
  id: string;
  ride_id: string;
  driver_id: string;
  status: OfferStatus;
  created_at: Date;
  expires_at: Date;
  answered_at: Date | null;
}

const toOffer = (row: OfferRow): Offer => ({
  id: row.id,
  rideId: row.ride_id,
  driverId: row.driver_id,
  status: row.status,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  answeredAt: row.answered_at,
});

export const createOfferRepository = (db: Queryable): Stores['offers'] => ({
  async insert(offer) {
    // The unique partial indexes answer "does this driver or ride already have a live offer?"
    // atomically; ON CONFLICT turns a refusal into zero rows instead of an aborted transaction.
    const rows = await db.query(
      `INSERT INTO offers (id, ride_id, driver_id, status, created_at, expires_at)
       VALUES ($1, $2, $3, 'pending', $4, $5)
       ON CONFLICT DO NOTHING RETURNING id`,
      [offer.id, offer.rideId, offer.driverId, offer.createdAt, offer.expiresAt],
    );
    return rows.length === 1;
  },

  async get(offerId) {
    const [row] = await db.query<OfferRow>('SELECT * FROM offers WHERE id = $1', [offerId]);
    return row && toOffer(row);
  },

  async getForUpdate(offerId) {
    const [row] = await db.query<OfferRow>('SELECT * FROM offers WHERE id = $1 FOR UPDATE', [offerId]);
    return row && toOffer(row);
  },

  async answer(offerId, status, now) {
    const rows = await db.query(
      `UPDATE offers SET status = $2, answered_at = $3 WHERE id = $1 AND status = 'pending' RETURNING id`,
      [offerId, status, now],
    );
    return rows.length === 1;
  },

  async pendingForRide(rideId) {
    const [row] = await db.query<OfferRow>(`SELECT * FROM offers WHERE ride_id = $1 AND status = 'pending'`, [
      rideId,
    ]);
    return row && toOffer(row);
  },

  async pendingForDriver(driverId) {
    const [row] = await db.query<OfferRow>(
      `SELECT * FROM offers WHERE driver_id = $1 AND status = 'pending'`,
      [driverId],
    );
    return row && toOffer(row);
  },

  async driversOfferedRide(rideId) {
    const rows = await db.query<{ driver_id: string }>(
      'SELECT DISTINCT driver_id FROM offers WHERE ride_id = $1',
      [rideId],
    );
    return rows.map((row) => row.driver_id);
  },

  async pendingPastExpiry(now, limit) {
    const rows = await db.query<OfferRow>(
      `SELECT * FROM offers WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
      [now, limit],
    );
    return rows.map(toOffer);
  },
});
