-- Transactional outbox: what live subscribers must be told, written in the same transaction as
-- the change it announces, so a committed change is always announced and a rolled-back one never.
-- A relay deletes rows as it publishes them (at least once); the table stays small.
-- Valid on PostgreSQL 15 and on PGlite.

CREATE TABLE outbox (
  id          bigserial PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('ride.event', 'offer')),
  payload     jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every status an offer takes (placed, accepted, declined, lapsed, withdrawn) is announced by
-- the database itself: several flows change offers, and a trigger cannot be forgotten by the
-- next one. The payload is what a driver's app shows, read from the ride under the same lock.
CREATE FUNCTION offers_announce() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
    RETURN NULL;
  END IF;
  INSERT INTO outbox (kind, payload)
  SELECT 'offer', jsonb_build_object(
    'offerId', NEW.id,
    'rideId', NEW.ride_id,
    'driverId', NEW.driver_id,
    'status', NEW.status,
    -- The same text as JavaScript's Date#toISOString, whatever the session's time zone.
    'expiresAt', to_char(NEW.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'pickup', jsonb_build_object('lat', rides.pickup_lat, 'lng', rides.pickup_lng),
    'dropoff', jsonb_build_object('lat', rides.dropoff_lat, 'lng', rides.dropoff_lng),
    'fare', jsonb_build_object('amount', rides.fare_amount, 'currency', rides.currency),
    'seq', rides.version)
  FROM rides WHERE rides.id = NEW.ride_id;
  RETURN NULL;
END
$$;
CREATE TRIGGER offers_announce AFTER INSERT OR UPDATE OF status ON offers
  FOR EACH ROW EXECUTE FUNCTION offers_announce();
