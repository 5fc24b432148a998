package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"herald/flows"
	"herald/store"
)

// Channel as the API shows it; its token never leaves Herald.
type Channel struct {
	ID            int64      `json:"id"`
	BotUserID     int64      `json:"bot_user_id"`
	Username      string     `json:"username"`
	Name          string     `json:"name"`
	RatePerSecond int        `json:"rate_per_second"`
	PaidBroadcast bool       `json:"paid_broadcast"`
	Enabled       bool       `json:"enabled"`
	VerifiedAt    *time.Time `json:"verified_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
}

func channelOut(c store.Channel) Channel {
	return Channel{ID: c.ID, BotUserID: c.BotUserID, Username: c.Username, Name: c.Name, RatePerSecond: c.RatePerSecond,
		PaidBroadcast: c.PaidBroadcast, Enabled: c.Enabled, VerifiedAt: c.VerifiedAt, CreatedAt: c.CreatedAt}
}

// NewChannel registers a channel bot.
type NewChannel struct {
	Token         string `json:"token" maxLength:"128" doc:"The bot's token from @BotFather; checked with getMe, stored encrypted, never shown again"`
	Name          string `json:"name,omitempty" maxLength:"256" doc:"What admins call it; default: the bot's name"`
	RatePerSecond int    `json:"rate_per_second,omitempty" minimum:"0" maximum:"1000" doc:"Messages a second; above 30 uses paid broadcasts. Default 30"`
}

type channelCreateIn struct {
	IdempotencyHeader
	Body NewChannel
}

type channelEnableIn struct {
	ID   int64 `path:"id" minimum:"1"`
	Body struct {
		Enabled bool `json:"enabled"`
	}
}

func (s *Server) registerChannels() {
	o := op("createChannel", http.MethodPost, "/channels", "Register a channel bot", roleAdmin)
	o.DefaultStatus = http.StatusCreated
	o.MaxBodyBytes = 4 << 10
	huma.Register(s.api, o, s.createChannel)
	huma.Register(s.api, op("listChannels", http.MethodGet, "/channels", "List channels", roleViewer), s.listChannels)
	huma.Register(s.api, op("getChannel", http.MethodGet, "/channels/{id}", "Get a channel", roleViewer), s.getChannel)
	o = op("setChannelEnabled", http.MethodPut, "/channels/{id}/enabled", "Enable or disable a channel", roleAdmin)
	o.MaxBodyBytes = 1 << 10
	huma.Register(s.api, o, s.setChannelEnabled)
}

func (s *Server) createChannel(ctx context.Context, in *channelCreateIn) (*struct{ Body Channel }, error) {
	// The hash holds the token's hash only: the request is recognised, the token not kept.
	body := in.Body
	body.Token = string(store.HashAPIKey(body.Token))
	hash := requestHash("createChannel", body)
	if out, ok, err := replayed[Channel](ctx, s, in.IdempotencyKey, "createChannel", hash); ok || err != nil {
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		return &struct{ Body Channel }{Body: out}, nil
	}
	svc := s.cfg.Services
	// getMe before the transaction, as the dialog's Prepare does.
	me, err := flows.VerifyChannelToken(ctx, svc, strings.TrimSpace(in.Body.Token))
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	rate := in.Body.RatePerSecond
	if rate == 0 {
		rate = store.ChannelMaxRate
	}
	paid, err := flows.CheckRate(rate)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	name := in.Body.Name
	if name == "" {
		name = me.FirstName
		if name == "" {
			name = me.Username
		}
	}
	if name, err = flows.CheckName(name); err != nil {
		return nil, s.fail(ctx, err)
	}
	out, err := idempotent(ctx, s, in.IdempotencyKey, "createChannel", hash, func(tx *store.Store) (Channel, error) {
		c, err := tx.ChannelCreate(ctx, svc.Box, store.ChannelCreateParams{
			BotUserID: me.ID, Username: me.Username, Name: name, Token: strings.TrimSpace(in.Body.Token),
			RatePerSecond: rate, PaidBroadcast: paid, CreatedBy: keyOf(ctx).CreatedBy, VerifiedAt: s.now(),
		})
		var exists *store.ChannelExistsError
		switch {
		case errors.As(err, &exists):
			return Channel{}, flows.Conflict("chan.exists", map[string]any{"Name": exists.Name, "Username": me.Username})
		case err != nil:
			return Channel{}, err
		}
		err = s.audit(ctx, tx)(ctx, "channel.registered", "channel:"+itoa(c.ID), map[string]any{
			"name": c.Name, "username": c.Username, "bot_user_id": c.BotUserID, "rate": rate, "paid_broadcast": paid})
		return channelOut(c), err
	})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &struct{ Body Channel }{Body: out}, nil
}

func (s *Server) listChannels(ctx context.Context, _ *struct{}) (*struct {
	Body struct {
		Items []Channel `json:"items"`
	}
}, error) {
	list, err := s.cfg.Store.ChannelList(ctx)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &struct {
		Body struct {
			Items []Channel `json:"items"`
		}
	}{}
	out.Body.Items = make([]Channel, 0, len(list))
	for _, c := range list {
		out.Body.Items = append(out.Body.Items, channelOut(c))
	}
	return out, nil
}

func (s *Server) getChannel(ctx context.Context, in *idIn) (*struct{ Body Channel }, error) {
	c, err := s.cfg.Store.ChannelGet(ctx, in.ID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &struct{ Body Channel }{Body: channelOut(c)}, nil
}

func (s *Server) setChannelEnabled(ctx context.Context, in *channelEnableIn) (*struct{ Body Channel }, error) {
	var out Channel
	err := s.cfg.Store.InTx(ctx, func(tx *store.Store) error {
		c, err := tx.ChannelGet(ctx, in.ID)
		if err != nil {
			return err
		}
		if c.Enabled != in.Body.Enabled {
			if err := tx.ChannelSetEnabled(ctx, c.ID, in.Body.Enabled); err != nil {
				return err
			}
			action := "channel.disabled"
			if in.Body.Enabled {
				action = "channel.enabled"
			}
			if err := s.audit(ctx, tx)(ctx, action, "channel:"+itoa(c.ID), map[string]any{"name": c.Name}); err != nil {
				return err
			}
		}
		c.Enabled = in.Body.Enabled
		out = channelOut(c)
		return nil
	})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &struct{ Body Channel }{Body: out}, nil
}
