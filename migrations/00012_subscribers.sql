-- +goose Up

-- Audiences Telegram allows (issue 14). A channel bot is either managed (Herald receives
-- its updates and keeps its audience below) or send_only (another app owns its updates;
-- Herald only sends, and its audience comes from imports and the API). welcome_template_id
-- is the template a managed bot answers /start with; NULL means the built-in short text.
ALTER TABLE channels
    ADD COLUMN mode text NOT NULL DEFAULT 'send_only' CHECK (mode IN ('managed', 'send_only')),
    ADD COLUMN welcome_template_id bigint REFERENCES templates (id) ON DELETE SET NULL;
COMMENT ON COLUMN channels.mode IS 'managed: Herald receives this bot''s updates and keeps its subscribers; send_only: another app does, Herald only sends.';

-- subscribers: the private chats that started a managed channel bot. chat_id is the
-- user's id (a private chat's id equals the user id). source is the /start payload of
-- the first start (t.me/bot?start=promo_nov → 'promo_nov'); later starts with another
-- payload do not overwrite it. status: active (may be messaged), blocked (my_chat_member
-- said kicked; suppressed until unblocked), stopped (the user sent /stop). The profile
-- fields are usable as template variables.
CREATE TABLE subscribers (
    channel_id        bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    chat_id           bigint NOT NULL CHECK (chat_id > 0),
    first_name        text NOT NULL DEFAULT '',
    last_name         text NOT NULL DEFAULT '',
    username          text NOT NULL DEFAULT '',
    language_code     text NOT NULL DEFAULT '',
    source            text NOT NULL DEFAULT '',
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'stopped')),
    joined_at         timestamptz NOT NULL DEFAULT now(),
    last_seen_at      timestamptz NOT NULL DEFAULT now(),
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, chat_id)
);
COMMENT ON TABLE subscribers IS 'Private chats that started a managed channel bot: profile, /start source, active/blocked/stopped.';
-- "subscribers whose source is X" and "who started since DATE" read the active ones of
-- one bot; routing asks, for one chat, which bots it started, most recent first.
CREATE INDEX subscribers_active_idx ON subscribers (channel_id, joined_at) WHERE status = 'active';
CREATE INDEX subscribers_chat_idx ON subscribers (chat_id, last_seen_at DESC) WHERE status = 'active';

-- channel_chats: groups, supergroups and channels a channel bot was added to (from
-- my_chat_member). bot_status is Telegram's ChatMember status of the bot itself; a chat is
-- targetable while it is 'member' or 'administrator' (and, in a channel, can_post).
CREATE TABLE channel_chats (
    channel_id bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    chat_id    bigint NOT NULL CHECK (chat_id < 0),
    type       text NOT NULL CHECK (type IN ('group', 'supergroup', 'channel')),
    title      text NOT NULL DEFAULT '',
    bot_status text NOT NULL CHECK (bot_status IN ('creator', 'administrator', 'member', 'restricted', 'left', 'kicked')),
    can_post   boolean NOT NULL DEFAULT false,
    can_pin    boolean NOT NULL DEFAULT false,
    can_delete boolean NOT NULL DEFAULT false,
    added_at   timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, chat_id)
);
COMMENT ON TABLE channel_chats IS 'Groups, supergroups and channels a channel bot was added to, with the bot''s status and rights there.';

-- +goose Down
DROP TABLE channel_chats;
DROP TABLE subscribers;
ALTER TABLE channels DROP COLUMN welcome_template_id, DROP COLUMN mode;
