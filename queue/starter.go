package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"herald/store"
)

// Starter creates the campaigns the wizard confirms (flows.CampaignStarter).
type Starter struct {
	store  *store.Store
	client *river.Client[pgx.Tx]
}

// NewStarter returns a Starter inserting start jobs with client (which need not be
// started in this process).
func NewStarter(st *store.Store, client *river.Client[pgx.Tx]) *Starter {
	return &Starter{store: st, client: client}
}

// CreateCampaign writes the campaign and inserts its start job, scheduled at its
// time, in the caller's transaction db (which must be a pgx.Tx): both happen or
// neither. The start job is unique per campaign and CampaignCreate returns the first
// campaign for a RequestKey already used, so a repeated Confirm changes nothing.
func (s *Starter) CreateCampaign(ctx context.Context, db store.DBTX, nc store.NewCampaign) (int64, error) {
	tx, ok := db.(pgx.Tx)
	if !ok {
		return 0, errors.New("create campaign: must run inside a transaction")
	}
	id, err := s.store.CampaignCreate(ctx, tx, nc)
	if err != nil {
		return 0, err
	}
	if _, err := s.client.InsertTx(ctx, tx, StartCampaignArgs{CampaignID: id}, StartAt(nc.ScheduledAt)); err != nil {
		return 0, fmt.Errorf("enqueue start of campaign %d: %w", id, err)
	}
	return id, nil
}
