package queue

import (
	"context"
	"errors"
	"fmt"

	"herald/store"
)

// StartOperation records an operation over a campaign's sent messages (edit, delete,
// pin or unpin; see store.OperationCreate for its errors) and enqueues the lanes of the
// campaign's bots (each acts on the messages it sent), in the transaction tx is bound
// to: all happen or none. A lane already running there picks the operation up at its next poll (the insert is then
// skipped as a duplicate); one that ended meanwhile is adopted by the keeper.
func (s *Starter) StartOperation(ctx context.Context, tx *store.Store, no store.NewOperation) (store.Operation, error) {
	ptx, ok := tx.Tx()
	if !ok {
		return store.Operation{}, errors.New("start operation: must run inside a transaction")
	}
	op, err := tx.OperationCreate(ctx, no)
	if err != nil {
		return op, err
	}
	// Each bot acts on the messages it sent: every bot with a share gets its lane.
	lanes, err := tx.OperationChannels(ctx, op.ID)
	if err != nil {
		return op, err
	}
	for _, ch := range lanes {
		epoch, err := tx.LaneEnsure(ctx, ch)
		if err != nil {
			return op, err
		}
		if _, err := s.client.InsertTx(ctx, ptx, LaneArgs{ChannelID: ch, Epoch: epoch}, nil); err != nil {
			return op, fmt.Errorf("enqueue lane %d of operation %d: %w", ch, op.ID, err)
		}
	}
	return op, nil
}
