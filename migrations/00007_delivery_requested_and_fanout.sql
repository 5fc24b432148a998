-- +goose Up

-- requested_at: when the lane marked an in-flight delivery as "its request is leaving
-- now". A claim only reserves deliveries (status inflight, lease_until set,
-- requested_at NULL); the lane marks small groups right before their requests. When a
-- lease runs out, a delivery whose request never left goes back to pending (it is sent
-- once by whoever continues), and only a requested one becomes uncertain. This keeps
-- the uncertain ones after a crash to the requests really unanswered, whatever the
-- claim size. Adding a nullable column without a default rewrites nothing.
ALTER TABLE deliveries ADD COLUMN requested_at timestamptz;

-- fanout_after: while a started campaign's deliveries are still being created (in
-- chunks by recipient id, so the first messages go out at once), the last chat id
-- inserted; NULL once every recipient has a delivery. A campaign completes only then.
ALTER TABLE campaigns ADD COLUMN fanout_after bigint;

-- +goose Down
ALTER TABLE campaigns DROP COLUMN fanout_after;
ALTER TABLE deliveries DROP COLUMN requested_at;
