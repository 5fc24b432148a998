-- +goose Up

-- admins.language follows the admin's Telegram language at each update until they pick
-- one in Settings; language_chosen then keeps their choice from being overwritten by
-- the next update (issue 18.1). Texts sent outside a reply (progress, report) read
-- admins.language through the campaign's creator.
ALTER TABLE admins ADD COLUMN language_chosen boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN admins.language_chosen IS 'The admin picked admins.language in Settings: Telegram''s language_code no longer overrides it.';

-- +goose Down
ALTER TABLE admins DROP COLUMN language_chosen;
