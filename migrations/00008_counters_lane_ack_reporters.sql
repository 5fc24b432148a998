-- +goose Up

-- campaign_counters: how many deliveries of each campaign are in each status, kept in
-- the same statement that changes them, so the progress reporter reads a handful of
-- rows per tick instead of counting a million-row campaign every second (issue 11.8).
-- Updates and deletes are counted by statement-level triggers: every statement that
-- settles, claims, expires, cancels or reopens deliveries is counted, including ones
-- written later, exactly as transactionally as the rows. Inserts are not: the only
-- INSERT into deliveries is a campaign's fan-out (store.fanoutChunk, for the start and
-- each later chunk), which adds its row counts in the same statement — a trigger
-- would copy every chunk into a transition table. The
-- upserts go in (campaign_id, status) order so two writers never wait on each
-- other's counter rows in opposite orders.
CREATE TABLE campaign_counters (
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    status      text NOT NULL,
    n           bigint NOT NULL,
    PRIMARY KEY (campaign_id, status)
);
COMMENT ON TABLE campaign_counters IS 'Deliveries per campaign and status, maintained by triggers on deliveries.';

INSERT INTO campaign_counters (campaign_id, status, n)
SELECT campaign_id, status, count(*) FROM deliveries GROUP BY campaign_id, status;

-- +goose StatementBegin
CREATE FUNCTION deliveries_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_counters (campaign_id, status, n)
    SELECT campaign_id, status, sum(k) FROM (
        SELECT campaign_id, status, 1 AS k FROM new_rows
        UNION ALL
        SELECT campaign_id, status, -1 FROM old_rows) d
    GROUP BY campaign_id, status HAVING sum(k) <> 0 ORDER BY campaign_id, status
    ON CONFLICT (campaign_id, status) DO UPDATE SET n = campaign_counters.n + EXCLUDED.n;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION deliveries_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- An UPDATE, not an upsert: when the campaign itself is being deleted its counters
    -- go with it (ON DELETE CASCADE) and must not be inserted again.
    UPDATE campaign_counters c SET n = c.n - d.k
    FROM (SELECT campaign_id, status, count(*) AS k FROM old_rows
          GROUP BY campaign_id, status ORDER BY campaign_id, status) d
    WHERE c.campaign_id = d.campaign_id AND c.status = d.status;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER deliveries_count_update AFTER UPDATE ON deliveries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION deliveries_count_update();
CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION deliveries_count_delete();

-- The progress and report texts explain uncertain deliveries by cause (the reason code
-- in error, issue 12.5); uncertain rows are few, so this index keeps that count small
-- however large the campaign.
CREATE INDEX deliveries_uncertain_idx ON deliveries (campaign_id, error) WHERE status = 'uncertain';

-- Pause and Cancel are acknowledged by the lanes instead of waited out (issue 11.2).
-- A lane's poll of its running campaigns also writes polled_at (the database time of
-- that read) and moves the previous poll's time to acked_at: by then the lane has
-- applied that previous read, so acked_at >= t means "this lane no longer starts sends
-- for a campaign paused or cancelled before t".
ALTER TABLE lanes ADD COLUMN polled_at timestamptz, ADD COLUMN acked_at timestamptz;

-- progress_reporters: who runs each campaign's progress reporter, with a lease like
-- lanes' (issue 12.3). The reporter renews it every tick; when its process dies the
-- lease runs out and every process's maintenance moves the reporter to a new epoch and
-- enqueues a job for it (a new epoch is new job args, so River's uniqueness does not
-- refuse it while the dead process's job still looks "running"), so the control
-- message keeps moving seconds after a kill -9 instead of after River's rescue.
CREATE TABLE progress_reporters (
    campaign_id bigint PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    epoch       bigint NOT NULL DEFAULT 1 CHECK (epoch > 0),
    owner       text NOT NULL DEFAULT '',
    lease_until timestamptz NOT NULL DEFAULT '1970-01-01 00:00:00+00',
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE progress_reporters IS 'Progress reporter ownership per campaign: owner process, lease and River job epoch.';

-- +goose Down
DROP TABLE progress_reporters;
DROP INDEX deliveries_uncertain_idx;
ALTER TABLE lanes DROP COLUMN polled_at, DROP COLUMN acked_at;
DROP TRIGGER deliveries_count_update ON deliveries;
DROP TRIGGER deliveries_count_delete ON deliveries;
DROP FUNCTION deliveries_count_update(), deliveries_count_delete();
DROP TABLE campaign_counters;
