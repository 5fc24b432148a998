-- +goose Up

-- Audiences and several bots per campaign (issue 14, points 3 and 4).
--
-- A campaign's audience is one of: batch (today's: an uploaded list), batch_subscribers
-- (a batch intersected with the bots' reachable subscribers), subscribers (every
-- subscriber of the campaign's bots), source (those whose /start payload is
-- audience_source), since (those who started on or after audience_since) and chats
-- (the groups, supergroups and channels the bots were added to). Only the batch kinds
-- have a batch.
ALTER TABLE campaigns
    ALTER COLUMN batch_id DROP NOT NULL,
    ADD COLUMN audience text NOT NULL DEFAULT 'batch'
        CHECK (audience IN ('batch', 'batch_subscribers', 'subscribers', 'source', 'since', 'chats')),
    ADD COLUMN audience_source text,
    ADD COLUMN audience_since timestamptz,
    ADD CONSTRAINT campaigns_audience_batch CHECK ((audience IN ('batch', 'batch_subscribers')) = (batch_id IS NOT NULL)),
    ADD CONSTRAINT campaigns_audience_source CHECK ((audience = 'source') = (audience_source IS NOT NULL)),
    ADD CONSTRAINT campaigns_audience_since CHECK ((audience = 'since') = (audience_since IS NOT NULL));

-- campaign_channels: the channel bots a campaign sends through. campaigns.channel_id
-- stays the first of them (the one a batch recipient no bot knows is tried through,
-- and the one older code and finished campaigns name); a trigger adds it here, so
-- this table always lists every bot of every campaign.
CREATE TABLE campaign_channels (
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    channel_id  bigint NOT NULL REFERENCES channels (id) ON DELETE RESTRICT,
    PRIMARY KEY (campaign_id, channel_id)
);
CREATE INDEX campaign_channels_channel_idx ON campaign_channels (channel_id, campaign_id);
COMMENT ON TABLE campaign_channels IS 'The channel bots of each campaign; each recipient is routed to one of them.';
INSERT INTO campaign_channels (campaign_id, channel_id) SELECT id, channel_id FROM campaigns;

-- +goose StatementBegin
CREATE FUNCTION campaigns_add_primary_channel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_channels (campaign_id, channel_id) VALUES (NEW.id, NEW.channel_id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER campaigns_add_primary_channel AFTER INSERT ON campaigns
    FOR EACH ROW EXECUTE FUNCTION campaigns_add_primary_channel();

-- deliveries.channel_id: the bot a recipient was routed to when its delivery was
-- created; that bot's lane claims it. NULL on rows settled before this migration
-- (they were the campaign's channel's); open ones are filled in here. No foreign key:
-- a fan-out inserts 100,000 rows per chunk, and the bot is one of the campaign's
-- (campaign_channels), which keeps its channel row.
ALTER TABLE deliveries ADD COLUMN channel_id bigint;
UPDATE deliveries d SET channel_id = c.channel_id
FROM campaigns c WHERE c.id = d.campaign_id AND d.status IN ('pending', 'inflight');

-- A lane claims the pending deliveries of its own bot, campaign by campaign in chat id
-- order; this index replaces (campaign_id, chat_id), whose other readers use its
-- campaign_id prefix only.
CREATE INDEX deliveries_pending_channel_idx ON deliveries (campaign_id, channel_id, chat_id) WHERE status = 'pending';
DROP INDEX deliveries_pending_idx;

-- campaign_counters count per bot as well, so the progress message and the report say
-- per bot while still reading a handful of rows per tick. channel_id 0: deliveries
-- from before this migration (of the campaign's channel). The triggers and the
-- fan-out's insert keep (campaign_id, channel_id, status) order.
ALTER TABLE campaign_counters ADD COLUMN channel_id bigint NOT NULL DEFAULT 0;
ALTER TABLE campaign_counters DROP CONSTRAINT campaign_counters_pkey;
ALTER TABLE campaign_counters ADD PRIMARY KEY (campaign_id, channel_id, status);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION deliveries_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_counters (campaign_id, channel_id, status, n)
    SELECT campaign_id, ch, status, sum(k) FROM (
        SELECT campaign_id, coalesce(channel_id, 0) AS ch, status, 1 AS k FROM new_rows
        UNION ALL
        SELECT campaign_id, coalesce(channel_id, 0), status, -1 FROM old_rows) d
    GROUP BY campaign_id, ch, status HAVING sum(k) <> 0 ORDER BY campaign_id, ch, status
    ON CONFLICT (campaign_id, channel_id, status) DO UPDATE SET n = campaign_counters.n + EXCLUDED.n;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION deliveries_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_counters c SET n = c.n - d.k
    FROM (SELECT campaign_id, coalesce(channel_id, 0) AS ch, status, count(*) AS k FROM old_rows
          GROUP BY 1, 2, 3 ORDER BY 1, 2, 3) d
    WHERE c.campaign_id = d.campaign_id AND c.channel_id = d.ch AND c.status = d.status;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- The counters of the open deliveries the UPDATE above moved to their channel: the
-- trigger did not exist in this form yet, so move them here.
INSERT INTO campaign_counters (campaign_id, channel_id, status, n)
SELECT campaign_id, channel_id, status, count(*) FROM deliveries
WHERE status IN ('pending', 'inflight') AND channel_id IS NOT NULL
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (campaign_id, channel_id, status) DO UPDATE SET n = campaign_counters.n + EXCLUDED.n;
UPDATE campaign_counters c SET n = c.n - d.k
FROM (SELECT campaign_id, status, count(*) AS k FROM deliveries
      WHERE status IN ('pending', 'inflight') AND channel_id IS NOT NULL GROUP BY 1, 2) d
WHERE c.campaign_id = d.campaign_id AND c.channel_id = 0 AND c.status = d.status;

-- +goose Down
DELETE FROM campaign_counters WHERE channel_id <> 0 AND n = 0;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION deliveries_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE FUNCTION deliveries_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE campaign_counters c SET n = c.n - d.k
    FROM (SELECT campaign_id, status, count(*) AS k FROM old_rows
          GROUP BY campaign_id, status ORDER BY campaign_id, status) d
    WHERE c.campaign_id = d.campaign_id AND c.status = d.status;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TEMPORARY TABLE counters_sum ON COMMIT DROP AS
    SELECT campaign_id, status, sum(n)::bigint AS n FROM campaign_counters GROUP BY 1, 2;
DELETE FROM campaign_counters;
ALTER TABLE campaign_counters DROP CONSTRAINT campaign_counters_pkey;
ALTER TABLE campaign_counters DROP COLUMN channel_id;
ALTER TABLE campaign_counters ADD PRIMARY KEY (campaign_id, status);
INSERT INTO campaign_counters (campaign_id, status, n) SELECT campaign_id, status, n FROM counters_sum;
CREATE INDEX deliveries_pending_idx ON deliveries (campaign_id, chat_id) WHERE status = 'pending';
DROP INDEX deliveries_pending_channel_idx;
ALTER TABLE deliveries DROP COLUMN channel_id;
DROP TRIGGER campaigns_add_primary_channel ON campaigns;
DROP FUNCTION campaigns_add_primary_channel();
DROP TABLE campaign_channels;
DELETE FROM campaigns WHERE batch_id IS NULL;
ALTER TABLE campaigns
    DROP CONSTRAINT campaigns_audience_batch,
    DROP CONSTRAINT campaigns_audience_source,
    DROP CONSTRAINT campaigns_audience_since,
    DROP COLUMN audience_since,
    DROP COLUMN audience_source,
    DROP COLUMN audience,
    ALTER COLUMN batch_id SET NOT NULL;
