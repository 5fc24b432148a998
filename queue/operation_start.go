package queue

import (
	"context"
	"errors"
	"fmt"

	"herald/store"
)

// StartOperation records an operation over a campaign's sent messages (edit, delete,
// pin or unpin; see store.OperationCreate for its errors) and enqueues the lane of the
// campaign's channel, in the transaction tx is bound to: both happen or neither. A lane
// already running there picks the operation up at its next poll (the insert is then
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
	epoch, err := tx.LaneEnsure(ctx, op.ChannelID)
	if err != nil {
		return op, err
	}
	if _, err := s.client.InsertTx(ctx, ptx, LaneArgs{ChannelID: op.ChannelID, Epoch: epoch}, nil); err != nil {
		return op, fmt.Errorf("enqueue lane of operation %d: %w", op.ID, err)
	}
	return op, nil
}
