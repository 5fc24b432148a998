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
	client *river.Client[pgx.Tx]
}

// NewStarter returns a Starter inserting start jobs with client (which need not be
// started in this process).
func NewStarter(client *river.Client[pgx.Tx]) *Starter {
	return &Starter{client: client}
}

// CreateCampaign writes the campaign and inserts its start job, scheduled at its
// time, in the transaction tx is bound to (store.InTx): both happen or neither. The start job is unique per campaign and CampaignCreate returns the first
// campaign for a RequestKey already used, so a repeated Confirm changes nothing.
func (s *Starter) CreateCampaign(ctx context.Context, tx *store.Store, nc store.NewCampaign) (int64, error) {
	ptx, ok := tx.Tx()
	if !ok {
		return 0, errors.New("create campaign: must run inside a transaction")
	}
	id, err := tx.CampaignCreate(ctx, nc)
	if err != nil {
		return 0, err
	}
	if _, err := s.client.InsertTx(ctx, ptx, StartCampaignArgs{CampaignID: id}, StartAt(nc.ScheduledAt)); err != nil {
		return 0, fmt.Errorf("enqueue start of campaign %d: %w", id, err)
	}
	return id, nil
}
