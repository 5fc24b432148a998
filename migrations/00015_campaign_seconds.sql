-- +goose Up

-- campaign_seconds: what each channel bot's lane settled for each campaign in each
-- second (issue 17.1), the data behind the delivery chart. A row per (campaign,
-- channel, second) in which something was settled, not a row per delivery: a
-- 1M-recipient campaign at 30/s is about 33,000 rows (9 hours), at 1,000/s about
-- 1,000, so its chart is one index range scan. The lane writes it in the statement
-- that settles the outcomes (store.DeliverySettle), from the rows that statement
-- actually changed, so the counters agree with deliveries exactly and cost no extra
-- round trip. second is when the answers arrived (truncated to the second).
-- rate_limited counts 429 answers and wait_ms is the longest retry_after among them
-- (the lane pauses the whole bot for it), so the chart can shade the waits.
CREATE TABLE campaign_seconds (
    campaign_id  bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    channel_id   bigint NOT NULL,
    second       timestamptz NOT NULL,
    sent         integer NOT NULL DEFAULT 0 CHECK (sent >= 0),
    blocked      integer NOT NULL DEFAULT 0 CHECK (blocked >= 0),
    failed       integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
    uncertain    integer NOT NULL DEFAULT 0 CHECK (uncertain >= 0),
    rate_limited integer NOT NULL DEFAULT 0 CHECK (rate_limited >= 0),
    wait_ms      integer NOT NULL DEFAULT 0 CHECK (wait_ms >= 0),
    PRIMARY KEY (campaign_id, channel_id, second)
);
COMMENT ON TABLE campaign_seconds IS 'Per campaign, channel bot and second: deliveries settled by outcome and 429 waits, for charts.';

-- The chart shades the time a campaign was paused; pauses and resumes are in the
-- audit log, which is read by target only for this, so a partial index keeps that
-- read small however long the log grows.
CREATE INDEX audit_log_campaign_pause_idx ON audit_log (target, at)
    WHERE action IN ('campaign.pause', 'campaign.resume', 'campaign.cancel');

-- +goose Down
DROP INDEX audit_log_campaign_pause_idx;
DROP TABLE campaign_seconds;
