-- +goose Up

-- campaign_operations: acting on what a campaign already sent (issue 17): edit every
-- sent message for everyone, delete it for everyone, pin or unpin it. An operation
-- runs through the campaign channel's sender lane, paced with its sends, and keeps
-- its progress in operation_items.
--
-- Items are made as the lane goes, not all at once: each claim reads the next chunk
-- of the campaign's sent deliveries after scan_after (by chat id) and inserts their
-- items in the same transaction, so an operation over a million messages starts at
-- once and never holds a million-row statement. scanned is set when nothing is left
-- to read. Only deliveries settled before the operation was created are acted on
-- (updated_at <= created_at): a running campaign's later messages already carry what
-- they carry. body/entities are the new text (template syntax, the recipient's own
-- variables) for an edit; caption says the messages carry media (editMessageCaption);
-- silent is a pin's disable_notification. total is how many messages there were to act
-- on when the operation was confirmed (for the progress message).
CREATE TABLE campaign_operations (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id        bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    channel_id         bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    kind               text NOT NULL CHECK (kind IN ('edit', 'delete', 'pin', 'unpin')),
    status             text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'cancelled')),
    body               text,
    entities           jsonb,
    caption            boolean NOT NULL DEFAULT false,
    silent             boolean NOT NULL DEFAULT false,
    scan_after         bigint NOT NULL DEFAULT -9223372036854775808,
    scanned            boolean NOT NULL DEFAULT false,
    total              bigint NOT NULL DEFAULT 0,
    control_chat_id    bigint NOT NULL,
    control_message_id bigint,
    progress_text      text,
    created_by         bigint NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz,
    reported_at        timestamptz,
    CHECK (kind <> 'edit' OR body IS NOT NULL),
    CHECK ((status = 'running') = (finished_at IS NULL))
);
-- A lane asks for its channel's running operations every few hundred milliseconds.
CREATE INDEX campaign_operations_running_idx ON campaign_operations (channel_id, id) WHERE status = 'running';
CREATE INDEX campaign_operations_campaign_idx ON campaign_operations (campaign_id, id);
COMMENT ON TABLE campaign_operations IS 'Edit, delete, pin or unpin of a campaign''s sent messages, run by its channel''s sender lane.';

-- operation_items: one per message acted on, with the deliveries' discipline (migration
-- 00007): a claim reserves items (inflight, lease_until, requested_at NULL); the lane
-- marks small groups requested right before their requests leave; outcomes are written
-- in batches. When a lease runs out, an item never requested goes back to pending and
-- a requested one becomes uncertain: nothing is done twice after a crash. done: the
-- edit/delete/pin took effect (or had already: "message is not modified"); refused:
-- Telegram will not do it for this message (error says why: too_old, gone, blocked,
-- no_rights, too_long, or its description) and it is not tried again; failed: gave up
-- after retries of requests that provably never left.
CREATE TABLE operation_items (
    operation_id bigint NOT NULL REFERENCES campaign_operations (id) ON DELETE CASCADE,
    chat_id      bigint NOT NULL,
    message_id   bigint NOT NULL,
    status       text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'inflight', 'done', 'refused', 'failed', 'uncertain')),
    attempts     smallint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    not_before   timestamptz,
    lease_until  timestamptz,
    requested_at timestamptz,
    error        text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operation_id, chat_id),
    CHECK ((status = 'inflight') = (lease_until IS NOT NULL))
);
CREATE INDEX operation_items_open_idx ON operation_items (operation_id, chat_id) WHERE status IN ('pending', 'inflight');
COMMENT ON TABLE operation_items IS 'One message of a campaign operation: claimed, requested, then done/refused/failed/uncertain.';

-- +goose Down
DROP TABLE operation_items;
DROP TABLE campaign_operations;
