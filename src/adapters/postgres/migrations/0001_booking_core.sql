-- Booking core: riders, drivers, quotes, rides, offers, the ride event log and idempotency keys.
-- Valid on PostgreSQL 15 and on PGlite. Unqualified names: the connection's search_path picks the schema.

CREATE TABLE riders (
  id          text PRIMARY KEY,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE drivers (
  id          text PRIMARY KEY,
  status      text NOT NULL CHECK (status IN ('online', 'offline')),
  last_lat    double precision,
  last_lng    double precision,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE quotes (
  id                  uuid PRIMARY KEY,
  rider_id            text NOT NULL REFERENCES riders (id),
  city                text NOT NULL,
  pickup_lat          double precision NOT NULL,
  pickup_lng          double precision NOT NULL,
  dropoff_lat         double precision NOT NULL,
  dropoff_lng         double precision NOT NULL,
  distance_meters     integer NOT NULL CHECK (distance_meters >= 0),
  duration_seconds    integer NOT NULL CHECK (duration_seconds >= 0),
  fare_amount         integer NOT NULL CHECK (fare_amount >= 0),
  currency            char(3) NOT NULL,
  surge               double precision NOT NULL CHECK (surge >= 1),
  pickup_eta_seconds  integer,
  created_at          timestamptz NOT NULL,
  expires_at          timestamptz NOT NULL,
  used_at             timestamptz
);

CREATE TABLE rides (
  id                uuid PRIMARY KEY,
  rider_id          text NOT NULL REFERENCES riders (id),
  driver_id         text REFERENCES drivers (id),
  status            text NOT NULL CHECK (status IN
                      ('searching', 'driver_assigned', 'driver_arrived', 'in_progress', 'completed', 'cancelled', 'expired')),
  city              text NOT NULL,
  pickup_lat        double precision NOT NULL,
  pickup_lng        double precision NOT NULL,
  dropoff_lat       double precision NOT NULL,
  dropoff_lng       double precision NOT NULL,
  fare_amount       integer NOT NULL CHECK (fare_amount >= 0),
  currency          char(3) NOT NULL,
  surge             double precision NOT NULL,
  distance_meters   integer NOT NULL,
  duration_seconds  integer NOT NULL,
  quote_id          uuid NOT NULL UNIQUE REFERENCES quotes (id),
  search_deadline   timestamptz NOT NULL,
  cancelled_by      text CHECK (cancelled_by IN ('rider', 'driver')),
  cancel_reason     text,
  version           integer NOT NULL DEFAULT 1,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  -- A ride in the driver's hands always names the driver; a searching ride never does.
  CONSTRAINT rides_driver_matches_status CHECK (
    CASE
      WHEN status IN ('driver_assigned', 'driver_arrived', 'in_progress', 'completed') THEN driver_id IS NOT NULL
      WHEN status IN ('searching', 'expired') THEN driver_id IS NULL
      ELSE true
    END
  ),
  CONSTRAINT rides_cancellation_recorded CHECK ((status = 'cancelled') = (cancelled_by IS NOT NULL))
);

-- Invariant: a driver is never assigned two active rides.
CREATE UNIQUE INDEX rides_one_active_per_driver ON rides (driver_id)
  WHERE status IN ('driver_assigned', 'driver_arrived', 'in_progress');
-- A rider holds at most one ride that is not finished.
CREATE UNIQUE INDEX rides_one_open_per_rider ON rides (rider_id)
  WHERE status IN ('searching', 'driver_assigned', 'driver_arrived', 'in_progress');
CREATE INDEX rides_searching_by_deadline ON rides (search_deadline) WHERE status = 'searching';

-- The lifecycle, enforced by the database as the last line of defence: any status change
-- that is not in this list is refused whatever the code above it does.
CREATE FUNCTION rides_guard_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status AND NOT ((OLD.status, NEW.status) IN (
       ('searching', 'driver_assigned'), ('searching', 'expired'), ('searching', 'cancelled'),
       ('driver_assigned', 'cancelled'), ('driver_arrived', 'cancelled'),
       ('driver_assigned', 'searching'),
       ('driver_assigned', 'driver_arrived'), ('driver_arrived', 'in_progress'), ('in_progress', 'completed'))) THEN
    RAISE EXCEPTION 'ride % cannot go from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'rides_guard_transition';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER rides_guard_transition BEFORE UPDATE ON rides
  FOR EACH ROW EXECUTE FUNCTION rides_guard_transition();

CREATE TABLE offers (
  id            uuid PRIMARY KEY,
  ride_id       uuid NOT NULL REFERENCES rides (id),
  driver_id     text NOT NULL REFERENCES drivers (id),
  status        text NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')),
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  answered_at   timestamptz
);

-- At most one live offer per driver and per ride; an offer is answered once.
CREATE UNIQUE INDEX offers_one_live_per_driver ON offers (driver_id) WHERE status = 'pending';
CREATE UNIQUE INDEX offers_one_live_per_ride ON offers (ride_id) WHERE status = 'pending';
CREATE INDEX offers_by_ride ON offers (ride_id);
CREATE INDEX offers_pending_by_expiry ON offers (expires_at) WHERE status = 'pending';

CREATE FUNCTION offers_answer_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'pending' AND NEW.status IS DISTINCT FROM OLD.status THEN
    RAISE EXCEPTION 'offer % was already %', OLD.id, OLD.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'offers_answer_once';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER offers_answer_once BEFORE UPDATE ON offers
  FOR EACH ROW EXECUTE FUNCTION offers_answer_once();

-- Append-only history of each ride; seq is the ride's version after the change, so
-- a client can ask for everything after the last seq it saw.
CREATE TABLE ride_events (
  ride_id     uuid NOT NULL REFERENCES rides (id),
  seq         integer NOT NULL,
  type        text NOT NULL,
  status      text NOT NULL,
  actor_role  text NOT NULL CHECK (actor_role IN ('rider', 'driver', 'ops', 'system')),
  actor_id    text,
  reason      text,
  data        jsonb NOT NULL DEFAULT '{}'::jsonb,
  at          timestamptz NOT NULL,
  PRIMARY KEY (ride_id, seq)
);

CREATE FUNCTION ride_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ride_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER ride_events_append_only BEFORE UPDATE OR DELETE ON ride_events
  FOR EACH ROW EXECUTE FUNCTION ride_events_append_only();

-- A booking's first answer, kept so a replay with the same key gets it unchanged.
CREATE TABLE idempotency_keys (
  rider_id      text NOT NULL,
  key           text NOT NULL,
  request_hash  text NOT NULL,
  status_code   integer,
  response      jsonb,
  created_at    timestamptz NOT NULL,
  PRIMARY KEY (rider_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
