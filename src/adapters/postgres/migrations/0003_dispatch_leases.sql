-- Dispatchers share the cities between them: each city (a partition) is leased to one dispatcher
-- at a time, for a few seconds, renewed while it lives. Times are the database's, never a pod's
-- clock, so skewed clocks cannot make two dispatchers believe they both hold a city.
CREATE TABLE dispatch_leases (
  partition   text PRIMARY KEY,
  holder      text NOT NULL,
  expires_at  timestamptz NOT NULL
);

-- Live dispatchers, so each can take its fair share (cities / live dispatchers, rounded up).
CREATE TABLE dispatch_members (
  holder   text PRIMARY KEY,
  seen_at  timestamptz NOT NULL
);
