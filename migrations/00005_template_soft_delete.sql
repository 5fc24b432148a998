-- +goose Up

-- Templates, like batches and channels (00004), stay readable for the campaigns that
-- used them: deleting a template that only finished campaigns use marks it deleted.
-- Its name is free again; new campaigns cannot use it.
ALTER TABLE templates ADD COLUMN deleted_at timestamptz;
DROP INDEX templates_name_key;
CREATE UNIQUE INDEX templates_name_key ON templates (lower(name)) WHERE deleted_at IS NULL;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION campaigns_refuse_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM batches WHERE id = NEW.batch_id AND deleted_at IS NOT NULL) THEN
        RAISE EXCEPTION 'batch % is deleted', NEW.batch_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM channels WHERE id = NEW.channel_id AND deleted_at IS NOT NULL) THEN
        RAISE EXCEPTION 'channel % is deleted', NEW.channel_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM templates WHERE id = NEW.template_id AND deleted_at IS NOT NULL) THEN
        RAISE EXCEPTION 'template % is deleted', NEW.template_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION campaigns_refuse_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
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
DELETE FROM templates WHERE deleted_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaigns WHERE template_id = templates.id);
DROP INDEX templates_name_key;
CREATE UNIQUE INDEX templates_name_key ON templates (lower(name));
ALTER TABLE templates DROP COLUMN deleted_at;
