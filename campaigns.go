package main

import (
	"context"
	"errors"
	"sync/atomic"

	"herald/flows"
	"herald/queue"
	"herald/store"
)

// campaignServices gives the dialogs River's campaign start and controls. River's
// client is built after the management bot (its workers send through the bot's
// client), while the bot's dialogs need River: serve binds the client here once it
// exists, before the bot takes its first update.
type campaignServices struct {
	starter  atomic.Pointer[queue.Starter]
	controls atomic.Pointer[queue.Controls]
}

var (
	_ flows.CampaignStarter  = (*campaignServices)(nil)
	_ flows.CampaignControls = (*campaignServices)(nil)
)

var errQueueNotReady = errors.New("the job queue is not running yet")

func (c *campaignServices) bind(starter *queue.Starter, controls *queue.Controls) {
	c.starter.Store(starter)
	c.controls.Store(controls)
}

func (c *campaignServices) CreateCampaign(ctx context.Context, tx *store.Store, nc store.NewCampaign) (int64, error) {
	s := c.starter.Load()
	if s == nil {
		return 0, errQueueNotReady
	}
	return s.CreateCampaign(ctx, tx, nc)
}

func (c *campaignServices) Pause(ctx context.Context, id, actor int64) error {
	ctl := c.controls.Load()
	if ctl == nil {
		return errQueueNotReady
	}
	return ctl.Pause(ctx, id, actor)
}

func (c *campaignServices) Resume(ctx context.Context, id, actor int64) error {
	ctl := c.controls.Load()
	if ctl == nil {
		return errQueueNotReady
	}
	return ctl.Resume(ctx, id, actor)
}

func (c *campaignServices) Cancel(ctx context.Context, id, actor int64) (int64, error) {
	ctl := c.controls.Load()
	if ctl == nil {
		return 0, errQueueNotReady
	}
	return ctl.Cancel(ctx, id, actor)
}

func (c *campaignServices) ResendUncertain(ctx context.Context, id, actor int64) (int64, error) {
	ctl := c.controls.Load()
	if ctl == nil {
		return 0, errQueueNotReady
	}
	return ctl.ResendUncertain(ctx, id, actor)
}
