-- +goose Up

-- Campaigns keep their batch and channel (ON DELETE RESTRICT) so that finished campaigns
-- stay readable. Deleting a batch or channel that only finished campaigns use therefore
-- marks it deleted instead: its recipients are removed (the bulk of it) and a channel's
-- token ciphertext is wiped, while the row keeps the campaigns' history intact. Names
-- and bot ids are unique among the rows that are not deleted, so a deleted batch's name
-- can be reused and a deleted bot registered again.
ALTER TABLE batches ADD COLUMN deleted_at timestamptz;
DROP INDEX batches_name_key;
CREATE UNIQUE INDEX batches_name_key ON batches (lower(name)) WHERE deleted_at IS NULL;

ALTER TABLE channels ADD COLUMN deleted_at timestamptz;
ALTER TABLE channels DROP CONSTRAINT channels_bot_user_id_key;
CREATE UNIQUE INDEX channels_bot_user_id_key ON channels (bot_user_id) WHERE deleted_at IS NULL;
ALTER TABLE channels ADD CONSTRAINT channels_deleted_token_wiped
    CHECK (deleted_at IS NULL OR octet_length(token_ciphertext) = 0);

-- A campaign on a deleted batch or channel would send nothing or through nothing; the
-- check sits in the database because a delete and a campaign's creation can race (the
-- delete holds the row FOR UPDATE, the campaign's foreign key check waits for it and
-- then finds the row still there).
-- +goose StatementBegin
CREATE FUNCTION campaigns_refuse_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM batches WHERE id = NEW.batch_id AND deleted_at IS NOT NULL) THEN
        RAISE EXCEPTION 'batch % is deleted', NEW.batch_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM channels WHERE id = NEW.channel_id AND deleted_at IS NOT NULL) THEN
        RAISE EXCEPTION 'channel % is deleted', NEW.channel_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER campaigns_refuse_deleted BEFORE INSERT ON campaigns
    FOR EACH ROW EXECUTE FUNCTION campaigns_refuse_deleted();

-- recipients' foreign key to batches is checked once per statement instead of once per
-- row. A per-row foreign key check made a 1,000,000-row COPY take 9-10 s (about 105,000
-- rows/s) on the 2-core test machine; the statement-level check below takes it to about
-- 5 s, and no check at all to about 3.3 s. Only BatchImport inserts recipients, in the
-- transaction that creates their batch, but the database still refuses orphans. The
-- cascade on delete is kept by a statement trigger on batches.
ALTER TABLE recipients DROP CONSTRAINT recipients_batch_id_fkey;
-- +goose StatementBegin
CREATE FUNCTION recipients_check_batch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = n.batch_id)) THEN
        RAISE EXCEPTION 'insert into recipients: batch does not exist' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER recipients_check_batch AFTER INSERT ON recipients REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION recipients_check_batch();
-- +goose StatementBegin
CREATE FUNCTION batches_delete_recipients() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM recipients r USING old_rows o WHERE r.batch_id = o.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER batches_delete_recipients AFTER DELETE ON batches REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION batches_delete_recipients();

-- +goose Down
DROP TRIGGER batches_delete_recipients ON batches;
DROP FUNCTION batches_delete_recipients();
DROP TRIGGER recipients_check_batch ON recipients;
DROP FUNCTION recipients_check_batch();
DROP TRIGGER campaigns_refuse_deleted ON campaigns;
DROP FUNCTION campaigns_refuse_deleted();
DELETE FROM channels WHERE deleted_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaigns WHERE channel_id = channels.id);
DELETE FROM batches WHERE deleted_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaigns WHERE batch_id = batches.id);
ALTER TABLE channels DROP CONSTRAINT channels_deleted_token_wiped;
DROP INDEX channels_bot_user_id_key;
ALTER TABLE channels ADD CONSTRAINT channels_bot_user_id_key UNIQUE (bot_user_id);
ALTER TABLE channels DROP COLUMN deleted_at;
DROP INDEX batches_name_key;
CREATE UNIQUE INDEX batches_name_key ON batches (lower(name));
ALTER TABLE batches DROP COLUMN deleted_at;
DELETE FROM recipients r WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = r.batch_id);
ALTER TABLE recipients ADD CONSTRAINT recipients_batch_id_fkey
    FOREIGN KEY (batch_id) REFERENCES batches (id) ON DELETE CASCADE;
