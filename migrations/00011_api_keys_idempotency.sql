-- +goose Up

-- API keys (issue 15.2): owners create them in the bot; only a SHA-256 of the key is
-- kept (the key is 32 random bytes, so a plain hash cannot be reversed by guessing).
CREATE TABLE api_keys (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    role       text NOT NULL CHECK (role IN ('admin', 'viewer')),
    key_hash   bytea NOT NULL UNIQUE,
    hint       text NOT NULL,          -- the key's first characters, to tell keys apart
    created_by bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- Idempotency-Key of API POSTs: the first response for (key, Idempotency-Key) is kept,
-- with a hash of the request, so a retry gets the same answer and does nothing twice.
CREATE TABLE api_idempotency (
    api_key_id bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    idem_key   text NOT NULL CHECK (char_length(idem_key) BETWEEN 1 AND 255),
    operation  text NOT NULL,
    request    bytea NOT NULL,         -- SHA-256 of method, path and body
    status     int NOT NULL,
    response   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, idem_key)
);

-- +goose Down
DROP TABLE api_idempotency, api_keys;
