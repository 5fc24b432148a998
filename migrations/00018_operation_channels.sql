-- +goose Up

-- operation_channels: the bots an operation acts through. A campaign may send through
-- several bots (migration 00013), and a message can be edited, deleted or pinned only
-- by the bot that sent it (deliveries.channel_id), at that bot's pace: so each bot's
-- sender lane works its own share of the operation, reading its own deliveries after
-- its own cursor (scan_after, scanned: as campaign_operations had them for one bot).
-- The operation is done when every bot's share is scanned and no item is open.
-- operation_items.channel_id is the bot acting on the item (NULL in items made before
-- this migration: the operation's own channel_id).
CREATE TABLE operation_channels (
    operation_id bigint NOT NULL REFERENCES campaign_operations (id) ON DELETE CASCADE,
    channel_id   bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    scan_after   bigint NOT NULL DEFAULT -9223372036854775808,
    scanned      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (operation_id, channel_id)
);
-- A lane asks for its channel's running shares every few hundred milliseconds.
CREATE INDEX operation_channels_channel_idx ON operation_channels (channel_id, operation_id);
COMMENT ON TABLE operation_channels IS 'Each bot''s share of a campaign operation, with its own scan cursor.';
INSERT INTO operation_channels (operation_id, channel_id, scan_after, scanned)
SELECT id, channel_id, scan_after, scanned FROM campaign_operations;

ALTER TABLE operation_items ADD COLUMN channel_id bigint;

-- +goose Down
ALTER TABLE operation_items DROP COLUMN channel_id;
DROP TABLE operation_channels;
