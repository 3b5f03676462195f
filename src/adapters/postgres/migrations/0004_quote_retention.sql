-- Quotes nobody booked are kept for an hour past their expiry (a late booking still gets
-- QUOTE.EXPIRED, not QUOTE.NOT_FOUND), then removed: a strike day asks for far more quotes than it
-- books, and an unbounded table slows every insert. This index finds them without a scan.
CREATE INDEX quotes_unused_by_expiry ON quotes (expires_at) WHERE used_at IS NULL;
