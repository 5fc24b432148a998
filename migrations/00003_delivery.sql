-- +goose Up

-- lanes: which process currently runs the sender lane of a channel bot. A lane holds a
-- short lease (renewed about every second) while it sends; another process may take the
-- lane over only once the lease has run out, so at most one lane paces a bot's sends and
-- the in-process rate limiter is globally correct. epoch names the River job that owns
-- the lane: when a process dies with its lane job still "running" in River, the lane
-- keeper bumps the epoch and enqueues a fresh job, so a survivor takes over within
-- seconds instead of waiting for River's stuck-job rescuer; the stale job, if it is
-- ever rescued, sees an old epoch and ends.
CREATE TABLE lanes (
    channel_id  bigint PRIMARY KEY REFERENCES channels (id) ON DELETE CASCADE,
    epoch       bigint NOT NULL DEFAULT 1 CHECK (epoch > 0),
    owner       text NOT NULL DEFAULT '',
    lease_until timestamptz NOT NULL DEFAULT '1970-01-01 00:00:00+00',
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE lanes IS 'Sender lane ownership per channel bot: owner process, lease and River job epoch.';

-- control_text is a digest of the content last put into the campaign's control
-- message (text and buttons), so an edit is skipped when nothing changed (Telegram answers "message is not modified") even
-- after the progress reporter moved to another process. reported_at marks the final
-- report as sent, so it is sent once.
ALTER TABLE campaigns
    ADD COLUMN control_text text,
    ADD COLUMN reported_at  timestamptz;

-- A campaign completes when none of its deliveries is pending or in flight; this index
-- answers the in-flight half without scanning the campaign's settled rows.
CREATE INDEX deliveries_inflight_idx ON deliveries (campaign_id) WHERE status = 'inflight';

-- +goose Down
DROP INDEX deliveries_inflight_idx;
ALTER TABLE campaigns DROP COLUMN control_text, DROP COLUMN reported_at;
DROP TABLE lanes;
