package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The queries below serve `herald bench` only: it sets up data faster than the
// dialogs would, watches campaigns finish, and creates a database per scenario. The
// rest of what bench does goes through the methods the service uses.

// DatabaseCreate creates an empty database called name on the server this Store is
// connected to (the role needs CREATEDB). CREATE DATABASE cannot run in a transaction.
func (s *Store) DatabaseCreate(ctx context.Context, name string) error {
	if _, err := s.db.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// DatabaseDrop drops database name if it exists, ending the sessions still connected
// to it.
func (s *Store) DatabaseDrop(ctx context.Context, name string) error {
	if _, err := s.db.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// SyntheticBatch describes a generated recipient list: the chat ids FirstChatID …
// FirstChatID+Count-1, each with the variable first_name = "User <chat id>".
type SyntheticBatch struct {
	Name        string
	FirstChatID int64
	Count       int
	CreatedBy   int64
}

// BatchCreateSynthetic stores b as a ready batch and returns its id. It is one
// statement (atomic without a transaction) generating the rows in the database, so a
// million recipients take seconds instead of an import.
func (s *Store) BatchCreateSynthetic(ctx context.Context, b SyntheticBatch) (int64, error) {
	if err := checkName(b.Name); err != nil {
		return 0, err
	}
	var id int64
	err := s.db.QueryRow(ctx, `
		WITH batch AS (
			INSERT INTO batches (name, status, columns, recipient_count, created_by)
			VALUES ($1, 'ready', '{first_name}', $3, $4) RETURNING id),
		rows AS (
			INSERT INTO recipients (batch_id, chat_id, vars)
			SELECT batch.id, c, jsonb_build_object('first_name', 'User ' || c)
			FROM batch, generate_series($2::bigint, $2::bigint + $3 - 1) AS c)
		SELECT id FROM batch`,
		b.Name, b.FirstChatID, b.Count, b.CreatedBy).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create synthetic batch: %w", err)
	}
	return id, nil
}

// RecipientsVacuumAnalyze vacuums and analyzes the recipients table, so that a table
// written a moment ago is planned as a running system's would be. VACUUM cannot run in
// a transaction.
func (s *Store) RecipientsVacuumAnalyze(ctx context.Context) error {
	if _, err := s.db.Exec(ctx, `VACUUM ANALYZE recipients`); err != nil {
		return fmt.Errorf("vacuum recipients: %w", err)
	}
	return nil
}

// CampaignsOpenCount is how many of the campaigns ids are still scheduled or running.
func (s *Store) CampaignsOpenCount(ctx context.Context, ids []int64) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `
		SELECT count(*) FROM campaigns WHERE id = ANY($1) AND status IN ('scheduled', 'running')`, ids).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count open campaigns: %w", err)
	}
	return n, nil
}

// DeliveriesSentCount is the number of deliveries of the campaigns ids recorded as
// sent.
func (s *Store) DeliveriesSentCount(ctx context.Context, ids []int64) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, `
		SELECT count(*) FROM deliveries WHERE campaign_id = ANY($1) AND status = 'sent'`, ids).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count sent deliveries: %w", err)
	}
	return n, nil
}

// CampaignFanoutPending reports whether the campaign's deliveries are still being
// created (a fan-out job has not finished).
func (s *Store) CampaignFanoutPending(ctx context.Context, id int64) (bool, error) {
	var pending bool
	if err := s.db.QueryRow(ctx, `SELECT fanout_after IS NOT NULL FROM campaigns WHERE id = $1`, id).Scan(&pending); err != nil {
		return false, fmt.Errorf("fan-out of campaign %d: %w", id, err)
	}
	return pending, nil
}
