import type { Quote, Stores } from '../../flows/ports.js';
import type { Queryable } from './database.js';

interface QuoteRow {
  id: string;
  rider_id: string;
  city: string;
  pickup_lat: number;
  pickup_lng: number;
  dropoff_lat: number;
  dropoff_lng: number;
  distance_meters: number;
  duration_seconds: number;
  fare_amount: number;
  currency: string;
  surge: number;
  pickup_eta_seconds: number | null;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

const toQuote = (row: QuoteRow): Quote => ({
  id: row.id,
  riderId: row.rider_id,
  city: row.city,
  pickup: { lat: row.pickup_lat, lng: row.pickup_lng },
  dropoff: { lat: row.dropoff_lat, lng: row.dropoff_lng },
  distanceMeters: row.distance_meters,
  durationSeconds: row.duration_seconds,
  fare: { amount: row.fare_amount, currency: row.currency },
  surge: row.surge,
  pickupEtaSeconds: row.pickup_eta_seconds,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  usedAt: row.used_at,
});

export const createQuoteRepository = (db: Queryable): Stores['quotes'] => ({
  async insert(quote) {
    // One statement creates the rider on first contact and stores the quote: one round trip and
    // one commit on the path every booking starts with.
    await db.query(
      `WITH rider AS (INSERT INTO riders (id, created_at) VALUES ($2, $14) ON CONFLICT (id) DO NOTHING)
       INSERT INTO quotes (id, rider_id, city, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng, distance_meters,
         duration_seconds, fare_amount, currency, surge, pickup_eta_seconds, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [
        quote.id,
        quote.riderId,
        quote.city,
        quote.pickup.lat,
        quote.pickup.lng,
        quote.dropoff.lat,
        quote.dropoff.lng,
        quote.distanceMeters,
        quote.durationSeconds,
        quote.fare.amount,
        quote.fare.currency,
        quote.surge,
        quote.pickupEtaSeconds,
        quote.createdAt,
        quote.expiresAt,
      ],
    );
  },

  async getForUpdate(quoteId) {
    const [row] = await db.query<QuoteRow>('SELECT * FROM quotes WHERE id = $1 FOR UPDATE', [quoteId]);
    return row && toQuote(row);
  },

  async markUsed(quoteId, now) {
    const rows = await db.query(
      'UPDATE quotes SET used_at = $2 WHERE id = $1 AND used_at IS NULL RETURNING id',
      [quoteId, now],
    );
    return rows.length === 1;
  },

  async deleteUnusedExpiredBefore(cutoff, limit) {
    // A bounded batch: PGlite runs in the process, and one huge DELETE would stall it.
    const rows = await db.query(
      `DELETE FROM quotes WHERE id IN (
         SELECT id FROM quotes WHERE used_at IS NULL AND expires_at < $1 ORDER BY expires_at LIMIT $2
       ) RETURNING id`,
      [cutoff, limit],
    );
    return rows.length;
  },
});
