package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"herald/flows"
	"herald/store"
)

// Counts are a campaign's deliveries by outcome, live.
type Counts struct {
	Pending   int64 `json:"pending"`
	Inflight  int64 `json:"inflight"`
	Sent      int64 `json:"sent"`
	Failed    int64 `json:"failed"`
	Blocked   int64 `json:"blocked"`
	Uncertain int64 `json:"uncertain"`
	Cancelled int64 `json:"cancelled"`
	Total     int64 `json:"total"`
}

// Campaign as the API shows it.
type Campaign struct {
	ID           int64      `json:"id"`
	Status       string     `json:"status" enum:"scheduled,running,paused,completed,cancelled,failed"`
	PauseReason  string     `json:"pause_reason,omitempty"`
	TemplateID   int64      `json:"template_id"`
	TemplateName string     `json:"template_name"`
	BatchID      int64      `json:"batch_id"`
	BatchName    string     `json:"batch_name"`
	Audience     string     `json:"audience" doc:"Whom it goes to (see NewCampaign.audience)"`
	ChannelID    int64      `json:"channel_id"`
	ChannelName  string     `json:"channel_name"`
	ScheduledAt  time.Time  `json:"scheduled_at"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	Counts       *Counts    `json:"counts,omitempty" doc:"Only in single-campaign answers"`
}

func campaignOut(c store.CampaignListItem) Campaign {
	out := Campaign{ID: c.ID, Status: c.Status, TemplateID: c.TemplateID, TemplateName: c.TemplateName, BatchID: c.BatchID,
		BatchName: c.BatchName, Audience: c.Audience, ChannelID: c.ChannelID, ChannelName: c.ChannelName, ScheduledAt: c.ScheduledAt,
		StartedAt: c.StartedAt, FinishedAt: c.FinishedAt, CreatedAt: c.CreatedAt}
	if c.PauseReason != nil {
		out.PauseReason = *c.PauseReason
	}
	return out
}

func countsOut(n store.DeliveryCounts) *Counts {
	return &Counts{Pending: n.Pending, Inflight: n.Inflight, Sent: n.Sent, Failed: n.Failed, Blocked: n.Blocked,
		Uncertain: n.Uncertain, Cancelled: n.Cancelled, Total: n.Total()}
}

// NewCampaign creates a campaign and starts it now or at ScheduledAt.
type NewCampaign struct {
	TemplateID int64 `json:"template_id" minimum:"1"`
	// Audience is whom it goes to (issue 14); batch, as before audiences, by default.
	Audience string     `json:"audience,omitempty" enum:"batch,batch_subscribers,subscribers,source,since,chats" doc:"Whom to send to: a recipient list (batch), a list intersected with the bots' subscribers (batch_subscribers), every subscriber of the bots (subscribers), those whose /start payload was source (source), those who started since a time (since), the bots' groups and channels (chats). Default: batch"`
	BatchID  int64      `json:"batch_id,omitempty" minimum:"0" doc:"The recipient list, for audiences batch and batch_subscribers"`
	Source   string     `json:"source,omitempty" maxLength:"64" doc:"For audience source: the /start payload (t.me/bot?start=promo → promo)"`
	Since    *time.Time `json:"since,omitempty" doc:"For audience since: subscribers who started a bot at or after this time"`
	// ChannelID is the first sender bot; ChannelIDs more of them.
	ChannelID   int64      `json:"channel_id" minimum:"1"`
	ChannelIDs  []int64    `json:"channel_ids,omitempty" maxItems:"50" doc:"More sender bots: each recipient is sent once, through the bot it used most recently"`
	ScheduledAt *time.Time `json:"scheduled_at,omitempty" doc:"Start time (RFC 3339, within a year); absent: now"`
}

// audience reads the body's audience and bots, checking that each kind has its part.
func (n NewCampaign) audience() (store.Audience, []int64, error) {
	a := store.Audience{Kind: n.Audience, BatchID: n.BatchID, Source: n.Source}
	if a.Kind == "" {
		a.Kind = store.AudienceBatch
	}
	switch {
	case a.HasBatch() && n.BatchID <= 0:
		return a, nil, invalid("api.audience_needs_batch", "audience "+a.Kind+" needs batch_id")
	case a.Kind == store.AudienceSource && n.Source == "":
		return a, nil, invalid("api.audience_needs_source", "audience source needs source")
	case a.Kind == store.AudienceSince && n.Since == nil:
		return a, nil, invalid("api.audience_needs_since", "audience since needs since")
	}
	if n.Since != nil {
		a.Since = n.Since.UTC()
	}
	ids := []int64{n.ChannelID}
	for _, id := range n.ChannelIDs {
		if id > 0 && id != n.ChannelID {
			ids = append(ids, id)
		}
	}
	return a, ids, nil
}

type campaignCreateIn struct {
	IdempotencyHeader
	Body NewCampaign
}

// Estimate is what the bot's summary card shows before Confirm.
type Estimate struct {
	Recipients      int64         `json:"recipients" doc:"Reachable recipients"`
	Suppressed      int64         `json:"suppressed" doc:"Recipients the channel's suppression list skips"`
	DurationSeconds int64         `json:"duration_seconds" doc:"Sending time at the channel's rate"`
	Preview         string        `json:"preview" doc:"The message for the first recipient"`
	Blocking        []BlockingOut `json:"blocking" doc:"Why the campaign cannot start yet; empty when it can"`
}

// BlockingOut is one reason a campaign cannot start.
type BlockingOut struct {
	Key    string         `json:"key"`
	Data   map[string]any `json:"data,omitempty"`
	Detail string         `json:"detail"`
}

type estimateIn struct {
	TemplateID int64 `query:"template_id" required:"true" minimum:"1"`
	BatchID    int64 `query:"batch_id" required:"true" minimum:"1"`
	ChannelID  int64 `query:"channel_id" required:"true" minimum:"1"`
}

type campaignListOut struct {
	Body struct {
		Items      []Campaign `json:"items"`
		NextCursor string     `json:"next_cursor,omitempty"`
		Total      int        `json:"total"`
	}
}

type controlOut struct {
	Body struct {
		Campaign Campaign `json:"campaign"`
		Affected int64    `json:"affected" doc:"Deliveries cancelled"`
	}
}

type unreachedIn struct {
	ID     int64  `path:"id" minimum:"1"`
	Format string `query:"format" enum:"csv,json" default:"csv"`
}

func (s *Server) registerCampaigns() {
	o := op("createCampaign", http.MethodPost, "/campaigns", "Create a campaign and start it now or at scheduled_at", roleAdmin)
	o.DefaultStatus = http.StatusCreated
	o.MaxBodyBytes = 4 << 10
	huma.Register(s.api, o, s.createCampaign)
	huma.Register(s.api, op("estimateCampaign", http.MethodGet, "/campaigns/estimate", "What a campaign would do, as the bot's summary card", roleViewer), s.estimateCampaign)
	huma.Register(s.api, op("listCampaigns", http.MethodGet, "/campaigns", "List campaigns, newest first", roleViewer), s.listCampaigns)
	huma.Register(s.api, op("getCampaign", http.MethodGet, "/campaigns/{id}", "Get a campaign with live counts", roleViewer), s.getCampaign)
	for _, action := range []string{"pause", "resume", "cancel"} {
		o := op(action+"Campaign", http.MethodPost, "/campaigns/{id}/"+action, "The campaign's "+action+" button", roleAdmin)
		o.MaxBodyBytes = 1 << 10
		huma.Register(s.api, o, s.control(action))
	}
	o = op("listUnreached", http.MethodGet, "/campaigns/{id}/unreached", "Recipients not reached, as the bot's report CSV", roleViewer)
	o.Responses = map[string]*huma.Response{"200": {Description: "chat_id, status, reason",
		Content: map[string]*huma.MediaType{"text/csv": {Schema: &huma.Schema{Type: "string"}},
			"application/json": {Schema: s.api.OpenAPI().Components.Schemas.Schema(typeOf[[]Unreached](), true, "")}}}}
	huma.Register(s.api, o, s.unreached)
}

func (s *Server) createCampaign(ctx context.Context, in *campaignCreateIn) (*struct{ Body Campaign }, error) {
	hash := requestHash("createCampaign", in.Body)
	k := keyOf(ctx)
	out, err := idempotent(ctx, s, in.IdempotencyKey, "createCampaign", hash, func(tx *store.Store) (Campaign, error) {
		now := s.now()
		a, bots, err := in.Body.audience()
		if err != nil {
			return Campaign{}, err
		}
		nc := store.NewCampaign{TemplateID: in.Body.TemplateID, BatchID: a.BatchID, Audience: a, ChannelID: bots[0],
			ControlChatID: k.CreatedBy, CreatedBy: k.CreatedBy}
		if len(bots) > 1 {
			nc.ChannelIDs = bots
		}
		if in.Body.ScheduledAt != nil {
			if err := flows.CheckScheduledAt(*in.Body.ScheduledAt, now, time.UTC); err != nil {
				return Campaign{}, err
			}
			nc.ScheduledAt = *in.Body.ScheduledAt
		}
		if in.IdempotencyKey != "" {
			// The starter's own guard: one campaign per key even past this table.
			nc.RequestKey = "api:" + itoa(k.ID) + ":" + in.IdempotencyKey
		}
		p, err := flows.PlanAudienceCampaign(ctx, tx, nc.TemplateID, a, bots)
		if err != nil {
			return Campaign{}, err
		}
		id, err := flows.StartCampaign(ctx, tx, s.cfg.Services.Campaigns, s.audit(ctx, tx), p, nc, now)
		if err != nil {
			return Campaign{}, err
		}
		c, err := tx.CampaignItemGet(ctx, id)
		return campaignOut(c), err
	})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &struct{ Body Campaign }{Body: out}, nil
}

func (s *Server) estimateCampaign(ctx context.Context, in *estimateIn) (*struct{ Body Estimate }, error) {
	p, err := flows.PlanCampaign(ctx, s.cfg.Store, in.TemplateID, in.BatchID, in.ChannelID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := Estimate{Recipients: p.Reachable, Suppressed: max(int64(p.Batch.RecipientCount)-p.Reachable, 0),
		DurationSeconds: int64(math.Ceil(float64(p.Reachable) / float64(max(p.Channel.RatePerSecond, 1)))),
		Preview:         p.Message.Text, Blocking: []BlockingOut{}}
	for _, b := range p.Blocking {
		out.Blocking = append(out.Blocking, BlockingOut{Key: b.Key, Data: b.Data, Detail: plain(s.en.T(b.Key, b.Data))})
	}
	return &struct{ Body Estimate }{Body: out}, nil
}

func (s *Server) listCampaigns(ctx context.Context, in *Page) (*campaignListOut, error) {
	offset, err := in.offset()
	if err != nil {
		return nil, err
	}
	list, total, err := s.cfg.Store.CampaignList(ctx, offset, limitOf(*in))
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &campaignListOut{}
	out.Body.Items = make([]Campaign, 0, len(list))
	for _, c := range list {
		out.Body.Items = append(out.Body.Items, campaignOut(c))
	}
	out.Body.Total, out.Body.NextCursor = total, next(offset, len(list), total)
	return out, nil
}

func (s *Server) campaign(ctx context.Context, id int64) (Campaign, error) {
	c, err := s.cfg.Store.CampaignItemGet(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	n, err := s.cfg.Store.DeliveryCounts(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	out := campaignOut(c)
	out.Counts = countsOut(n)
	return out, nil
}

func (s *Server) getCampaign(ctx context.Context, in *idIn) (*struct{ Body Campaign }, error) {
	c, err := s.campaign(ctx, in.ID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &struct{ Body Campaign }{Body: c}, nil
}

// control is a campaign button through queue.Controls, which writes the audit entry
// and commits on its own (so no transaction here, as in the bot's Prepare phase).
func (s *Server) control(action string) func(context.Context, *idIn) (*controlOut, error) {
	return func(ctx context.Context, in *idIn) (*controlOut, error) {
		controls := s.cfg.Services.Controls
		if controls == nil {
			return nil, s.fail(ctx, errors.New("campaign controls are not configured"))
		}
		actor := store.APIKeyActor(keyOf(ctx).ID)
		var n int64
		var err error
		switch action {
		case "pause":
			err = controls.Pause(ctx, in.ID, actor)
		case "resume":
			err = controls.Resume(ctx, in.ID, actor)
		case "cancel":
			n, err = controls.Cancel(ctx, in.ID, actor)
		}
		var stateErr *store.CampaignStateError
		switch {
		case errors.As(err, &stateErr):
			return nil, s.fail(ctx, flows.Conflict("cmp.bad_transition", map[string]any{"ID": in.ID, "Action": action, "Status": stateErr.Status}))
		case errors.Is(err, store.ErrInvalidTransition):
			return nil, s.fail(ctx, flows.Conflict("cmp.bad_transition_plain", map[string]any{"ID": in.ID}))
		case errors.Is(err, store.ErrNotFound):
			return nil, s.fail(ctx, flows.NotFound("cmp.gone"))
		case err != nil:
			return nil, s.fail(ctx, err)
		}
		c, err := s.campaign(ctx, in.ID)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out := &controlOut{}
		out.Body.Campaign, out.Body.Affected = c, n
		return out, nil
	}
}

// Unreached is a recipient the campaign did not reach.
type Unreached struct {
	ChatID int64  `json:"chat_id"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// unreached streams the campaign's unsent deliveries, as the bot's final report CSV.
func (s *Server) unreached(ctx context.Context, in *unreachedIn) (*huma.StreamResponse, error) {
	if _, err := s.cfg.Store.CampaignGet(ctx, in.ID); err != nil {
		return nil, s.fail(ctx, err)
	}
	return &huma.StreamResponse{Body: func(hc huma.Context) {
		w := hc.BodyWriter()
		var each func(store.UnsentDelivery) error
		var finish func()
		if in.Format == "json" {
			hc.SetHeader("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			first := true
			_, _ = w.Write([]byte("["))
			each = func(d store.UnsentDelivery) error {
				if !first {
					if _, err := w.Write([]byte(",")); err != nil {
						return err
					}
				}
				first = false
				return enc.Encode(Unreached{ChatID: d.ChatID, Status: d.Status, Reason: d.Error})
			}
			finish = func() { _, _ = w.Write([]byte("]")) }
		} else {
			hc.SetHeader("Content-Type", "text/csv; charset=utf-8")
			hc.SetHeader("Content-Disposition", "attachment; filename=campaign-"+itoa(in.ID)+"-not-sent.csv")
			cw := csv.NewWriter(w)
			_ = cw.Write([]string{"chat_id", "status", "reason"}) // machine-facing: raw status and Telegram's text
			each = func(d store.UnsentDelivery) error {
				return cw.Write([]string{strconv.FormatInt(d.ChatID, 10), d.Status, d.Error})
			}
			finish = cw.Flush
		}
		hc.SetStatus(http.StatusOK)
		if err := s.cfg.Store.DeliveriesUnsentEach(ctx, in.ID, each); err != nil {
			// The status is out already: the truncated body is the signal, and the log.
			s.cfg.Logger.Error().Err(err).Int64("campaign_id", in.ID).Msg("api: stream unreached")
			return
		}
		finish()
	}}, nil
}
