package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"herald/backoff"
	"herald/store"
)

// ControlAction is a button of a campaign's control message.
type ControlAction string

// The control actions. Their callback data is "cmp:<action>:<campaign id>", e.g.
// "cmp:pause:42" (at most 30 bytes, well under Telegram's 64).
const (
	ActionPause  ControlAction = "pause"
	ActionResume ControlAction = "resume"
	ActionCancel ControlAction = "cancel"
	ActionResend ControlAction = "resend" // resend the uncertain deliveries
)

// ControlCallbackPrefix starts the callback data of every control button, so the
// bot's router can send them all to ParseControlCallback.
const ControlCallbackPrefix = "cmp:"

// ControlCallbackData is the callback data of action's button for campaignID.
func ControlCallbackData(action ControlAction, campaignID int64) string {
	return ControlCallbackPrefix + string(action) + ":" + strconv.FormatInt(campaignID, 10)
}

// ParseControlCallback reverses ControlCallbackData; ok is false for anything else.
func ParseControlCallback(data string) (action ControlAction, campaignID int64, ok bool) {
	rest, found := strings.CutPrefix(data, ControlCallbackPrefix)
	if !found {
		return "", 0, false
	}
	a, idText, found := strings.Cut(rest, ":")
	if !found {
		return "", 0, false
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return "", 0, false
	}
	switch ControlAction(a) {
	case ActionPause, ActionResume, ActionCancel, ActionResend:
		return ControlAction(a), id, true
	}
	return "", 0, false
}

// Errors of Controls. A refused transition is a *store.CampaignStateError, which
// matches ErrInvalidTransition with errors.Is and says the campaign's status.
var (
	ErrInvalidTransition = store.ErrInvalidTransition
	ErrCampaignNotFound  = store.ErrNotFound
)

// ErrLanesUnconfirmed is returned by Pause and Cancel when the change is committed but
// the channel's lane did not acknowledge it in time (a lane that cannot reach the
// database stops sending anyway when its lease runs out).
var ErrLanesUnconfirmed = errors.New("campaign changed; its lane has not confirmed it stopped sending yet")

// Controls pauses, resumes and cancels campaigns. Pause and Cancel return only once
// no lane will start another send for the campaign: the change is committed, then the
// call waits — outside any transaction — for the channel's lane to acknowledge a poll
// made after the commit (store.LanePoll, every ControlPoll), or for the lane to hold
// no lease. Every action is written to the audit log with the actor.
type Controls struct {
	store *store.Store
	// client enqueues lanes and reporters.
	client *river.Client[pgx.Tx]
	// ackWait bounds the wait for a lane's acknowledgement: a live lane acknowledges
	// within two polls, and one that cannot loses its lease within LaneLease.
	ackWait time.Duration
}

// NewControls returns the controls; cfg must be the delivery config the River client
// was built with (its ControlPoll and LaneLease bound the wait).
func NewControls(st *store.Store, client *river.Client[pgx.Tx], cfg DeliveryConfig) *Controls {
	cfg = cfg.withDefaults()
	return &Controls{store: st, client: client, ackWait: cfg.LaneLease + 2*cfg.ControlPoll + time.Second}
}

// Pause pauses a running campaign.
func (c *Controls) Pause(ctx context.Context, campaignID, actorID int64) error {
	camp, err := c.store.CampaignPause(ctx, campaignID, actorID, "")
	if err != nil {
		return fmt.Errorf("pause campaign %d: %w", campaignID, err)
	}
	return c.waitLanes(ctx, camp.ID)
}

// Resume resumes a paused campaign and makes sure its lane and reporter run.
func (c *Controls) Resume(ctx context.Context, campaignID, actorID int64) error {
	camp, err := c.store.CampaignResume(ctx, campaignID, actorID)
	if err != nil {
		return fmt.Errorf("resume campaign %d: %w", campaignID, err)
	}
	return c.enqueue(ctx, camp)
}

// Cancel cancels a scheduled, running or paused campaign; its pending deliveries
// become cancelled. It returns how many were cancelled.
func (c *Controls) Cancel(ctx context.Context, campaignID, actorID int64) (int64, error) {
	camp, n, err := c.store.CampaignCancel(ctx, campaignID, actorID)
	if err != nil {
		return 0, fmt.Errorf("cancel campaign %d: %w", campaignID, err)
	}
	if err := c.waitLanes(ctx, camp.ID); err != nil {
		return n, err
	}
	// The reporter writes the final report (and may not be running for a campaign
	// cancelled before it started).
	if _, err := c.client.Insert(ctx, ProgressArgs{CampaignID: camp.ID}, nil); err != nil {
		return n, fmt.Errorf("enqueue report of campaign %d: %w", campaignID, err)
	}
	return n, nil
}

// ResendUncertain sends the campaign's uncertain deliveries again (the admin accepts
// that some recipients may get the message twice) and returns how many.
func (c *Controls) ResendUncertain(ctx context.Context, campaignID, actorID int64) (int64, error) {
	camp, n, err := c.store.CampaignResendUncertain(ctx, campaignID, actorID)
	if err != nil {
		return 0, fmt.Errorf("resend uncertain of campaign %d: %w", campaignID, err)
	}
	return n, c.enqueue(ctx, camp)
}

// ResendUnreached sends a completed campaign's deliveries that are safe to send
// again (store.CampaignResendUnreached says which) and returns how many.
func (c *Controls) ResendUnreached(ctx context.Context, campaignID, actorID int64) (int64, error) {
	camp, n, err := c.store.CampaignResendUnreached(ctx, campaignID, actorID)
	if err != nil {
		return 0, fmt.Errorf("resend unreached of campaign %d: %w", campaignID, err)
	}
	return n, c.enqueue(ctx, camp)
}

func (c *Controls) enqueue(ctx context.Context, camp store.Campaign) error {
	channels, err := c.store.CampaignChannelIDs(ctx, camp.ID)
	if err != nil {
		return err
	}
	jobs, err := laneJobs(ctx, c.store, channels)
	if err != nil {
		return err
	}
	if _, err := c.client.InsertMany(ctx, append(jobs, river.InsertManyParams{Args: ProgressArgs{CampaignID: camp.ID}})); err != nil {
		return fmt.Errorf("enqueue lane of campaign %d: %w", camp.ID, err)
	}
	return nil
}

// waitLanes waits until the lane of each of the campaign's bots acknowledged a poll
// made after the caller's commit, or holds no lease, polling the lane rows every 25 ms
// for at most ackWait.
func (c *Controls) waitLanes(ctx context.Context, campaignID int64) error {
	since, err := c.store.Now(ctx) // after the commit, so later than it
	if err != nil {
		return err
	}
	channels, err := c.store.CampaignChannelIDs(ctx, campaignID)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(c.ackWait)
	for {
		acked := 0
		for _, ch := range channels {
			ok, err := c.store.LaneAcked(ctx, ch, since)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			acked++
		}
		if acked == len(channels) {
			return nil
		}
		if time.Now().After(deadline) {
			return ErrLanesUnconfirmed
		}
		if !backoff.Wait(ctx, 25*time.Millisecond) {
			return errors.Join(ErrLanesUnconfirmed, ctx.Err())
		}
	}
}
