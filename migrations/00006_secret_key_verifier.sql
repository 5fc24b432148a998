-- +goose Up

-- One row: a known constant sealed under HERALD_SECRET_KEY at the first start that has
-- a key, so a later start with another key stops at once instead of failing every
-- campaign with "channel bot token cannot be used".
CREATE TABLE secret_key_verifier (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    sealed     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz
);

-- +goose Down
DROP TABLE secret_key_verifier;
