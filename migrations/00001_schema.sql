-- +goose Up

-- admins: the people allowed to talk to the management bot. Owners also come from
-- HERALD_OWNER_IDS (synced at start-up); viewers may look but change nothing.
CREATE TABLE admins (
    user_id      bigint PRIMARY KEY,
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
    display_name text NOT NULL DEFAULT '',
    language     text CHECK (language IN ('en', 'ru')),
    time_zone    text,
    added_by     bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE admins IS 'Users allowed to operate Herald, with their role, language and remembered time zone.';

-- dialog_sessions: at most one open dialog per chat. The FSM state and the draft the
-- admin has entered so far live here, so any process continues the dialog after a
-- restart. version grows with every step; callback data carries it so a press on an
-- outdated keyboard is recognised.
CREATE TABLE dialog_sessions (
    chat_id         bigint PRIMARY KEY,
    user_id         bigint NOT NULL,
    flow            text NOT NULL CHECK (flow <> ''),
    state           text NOT NULL CHECK (state <> ''),
    draft           jsonb NOT NULL DEFAULT '{}',
    version         integer NOT NULL DEFAULT 0 CHECK (version >= 0),
    menu_message_id bigint,
    language        text NOT NULL DEFAULT 'en',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX dialog_sessions_expires_at_idx ON dialog_sessions (expires_at);
COMMENT ON TABLE dialog_sessions IS 'Open dialogs: flow, FSM state and draft per chat; expired by a periodic job.';

-- templates: what a campaign sends. Text and entities are stored as Telegram gives them
-- (UTF-16 offsets), not as HTML; media is the management bot''s file_id, re-uploaded
-- once per channel bot (channel_media).
CREATE TABLE templates (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    body            text NOT NULL DEFAULT '',
    entities        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(entities) = 'array'),
    media_kind      text CHECK (media_kind IN ('photo', 'video', 'document', 'animation')),
    media_file_id   text,
    media_unique_id text,
    buttons         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(buttons) = 'array'),
    created_by      bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((media_kind IS NULL) = (media_file_id IS NULL)),
    CHECK (media_kind IS NOT NULL OR body <> '')
);
CREATE UNIQUE INDEX templates_name_key ON templates (lower(name));
COMMENT ON TABLE templates IS 'Message templates: text + entities with {{variables}}, optional media and URL buttons.';

-- batches: an imported list of recipients. columns are the variable names found in
-- the file's header (besides the recipient id column).
CREATE TABLE batches (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    status          text NOT NULL DEFAULT 'importing' CHECK (status IN ('importing', 'ready', 'failed')),
    columns         text[] NOT NULL DEFAULT '{}',
    recipient_count integer NOT NULL DEFAULT 0 CHECK (recipient_count >= 0),
    duplicate_count integer NOT NULL DEFAULT 0 CHECK (duplicate_count >= 0),
    invalid_count   integer NOT NULL DEFAULT 0 CHECK (invalid_count >= 0),
    source_name     text NOT NULL DEFAULT '',
    created_by      bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX batches_name_key ON batches (lower(name));
COMMENT ON TABLE batches IS 'Imported recipient lists and their import summary.';

-- recipients: one row per (batch, chat). vars holds the row's other columns by name.
CREATE TABLE recipients (
    batch_id bigint NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    chat_id  bigint NOT NULL CHECK (chat_id <> 0),
    vars     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(vars) = 'object'),
    PRIMARY KEY (batch_id, chat_id)
);
COMMENT ON TABLE recipients IS 'Recipients of a batch with their template variables; the key merges duplicate ids.';

-- channels: the bots that deliver. The token is AES-GCM ciphertext (nonce prepended)
-- under HERALD_SECRET_KEY and never stored or logged in plaintext; bot_user_id (from
-- getMe) detects a bot registered twice. retry_after_until is a 429 pause shared by
-- every process.
CREATE TABLE channels (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bot_user_id       bigint NOT NULL UNIQUE,
    username          text NOT NULL,
    name              text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    token_ciphertext  bytea NOT NULL,
    rate_per_second   integer NOT NULL DEFAULT 30 CHECK (rate_per_second BETWEEN 1 AND 1000),
    paid_broadcast    boolean NOT NULL DEFAULT false,
    enabled           boolean NOT NULL DEFAULT true,
    verified_at       timestamptz,
    retry_after_until timestamptz,
    created_by        bigint NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (paid_broadcast OR rate_per_second <= 30)
);
COMMENT ON TABLE channels IS 'Channel bots that deliver campaigns: encrypted token, rate, paid broadcast switch.';

-- channel_media: a file_id belongs to one bot, so each template medium is uploaded once
-- per channel bot and its file_id cached here.
CREATE TABLE channel_media (
    channel_id      bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    media_unique_id text NOT NULL,
    file_id         text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, media_unique_id)
);
COMMENT ON TABLE channel_media IS 'Per channel bot cache of uploaded template media file_ids.';

-- campaigns: one template sent to one batch through one channel bot. The control
-- message is the live progress message in the chat that confirmed it. request_key
-- makes Confirm idempotent (pressed twice → one campaign).
CREATE TABLE campaigns (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    template_id        bigint NOT NULL REFERENCES templates (id) ON DELETE RESTRICT,
    batch_id           bigint NOT NULL REFERENCES batches (id) ON DELETE RESTRICT,
    channel_id         bigint NOT NULL REFERENCES channels (id) ON DELETE RESTRICT,
    status             text NOT NULL DEFAULT 'scheduled'
        CHECK (status IN ('scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed')),
    pause_reason       text,
    scheduled_at       timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    finished_at        timestamptz,
    request_key        text UNIQUE,
    control_chat_id    bigint NOT NULL,
    control_message_id bigint,
    created_by         bigint NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (finished_at IS NULL OR status IN ('completed', 'cancelled', 'failed'))
);
CREATE INDEX campaigns_active_idx ON campaigns (channel_id, id) WHERE status IN ('scheduled', 'running', 'paused');
CREATE INDEX campaigns_created_at_idx ON campaigns (created_at DESC);
COMMENT ON TABLE campaigns IS 'Campaigns and their lifecycle; active ones are found per channel by a partial index.';

-- deliveries: one row per (campaign, recipient), created in one INSERT ... SELECT when
-- the campaign starts. The primary key is the at-most-once guarantee. A row is
-- 'inflight' (with a lease) from just before its request until its outcome is written;
-- an expired lease means the outcome is unknown and the row becomes 'uncertain'.
CREATE TABLE deliveries (
    campaign_id     bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    chat_id         bigint NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'inflight', 'sent', 'failed', 'blocked', 'uncertain', 'cancelled')),
    attempts        smallint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    not_before      timestamptz,
    lease_until     timestamptz,
    message_id      bigint,
    error           text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, chat_id),
    CHECK ((status = 'inflight') = (lease_until IS NOT NULL)),
    CHECK (status <> 'sent' OR message_id IS NOT NULL)
);
CREATE INDEX deliveries_pending_idx ON deliveries (campaign_id, chat_id) WHERE status = 'pending';
CREATE INDEX deliveries_lease_idx ON deliveries (lease_until) WHERE status = 'inflight';
COMMENT ON TABLE deliveries IS 'One row per campaign recipient with its outcome; the key forbids a second send.';

-- suppressions: recipients a channel bot must not message again (they blocked it or
-- deactivated their account); campaign start subtracts them.
CREATE TABLE suppressions (
    channel_id bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    chat_id    bigint NOT NULL,
    reason     text NOT NULL CHECK (reason IN ('blocked', 'deactivated', 'manual')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, chat_id)
);
COMMENT ON TABLE suppressions IS 'Per channel bot do-not-send list, filled from 403 answers.';

-- audit_log: every state-changing action and every refused attempt, newest first.
CREATE TABLE audit_log (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor_id bigint NOT NULL,
    action   text NOT NULL CHECK (action <> ''),
    target   text NOT NULL DEFAULT '',
    details  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object')
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at DESC);
COMMENT ON TABLE audit_log IS 'Who did what to which object, and when; refused attempts too.';

-- +goose Down
DROP TABLE audit_log, suppressions, deliveries, campaigns, channel_media, channels,
    recipients, batches, templates, dialog_sessions, admins;
