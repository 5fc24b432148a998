-- +goose Up

-- webhooks: endpoints owners registered for campaign events. The HMAC secret is sealed
-- with HERALD_SECRET_KEY like channel tokens (it must be readable to sign).
CREATE TABLE webhooks (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url               text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
    secret_ciphertext bytea NOT NULL,
    created_by        bigint NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE webhooks IS 'Outgoing webhook endpoints for campaign events, with their sealed signing secret.';

-- announced is the campaign state last announced to the webhooks (running, paused,
-- finished), so each change is enqueued once whichever process notices it.
ALTER TABLE campaigns ADD COLUMN announced text CHECK (announced IN ('running', 'paused', 'finished'));

-- +goose Down
ALTER TABLE campaigns DROP COLUMN announced;
DROP TABLE webhooks;
