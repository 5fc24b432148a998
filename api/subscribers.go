package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"herald/store"
)

// Subscriber is a private chat that started a managed channel bot (issue 14).
type Subscriber struct {
	ChatID       int64     `json:"chat_id"`
	FirstName    string    `json:"first_name"`
	LastName     string    `json:"last_name,omitempty"`
	Username     string    `json:"username,omitempty"`
	LanguageCode string    `json:"language_code,omitempty"`
	Source       string    `json:"source,omitempty" doc:"The /start payload of the first start"`
	Status       string    `json:"status" enum:"active,blocked,stopped"`
	JoinedAt     time.Time `json:"joined_at"`
	LastSeenAt   time.Time `json:"last_seen_at"`
}

// ChannelChat is a group, supergroup or channel a channel bot was added to.
type ChannelChat struct {
	ChatID     int64  `json:"chat_id"`
	Type       string `json:"type" enum:"group,supergroup,channel"`
	Title      string `json:"title"`
	BotStatus  string `json:"bot_status"`
	Targetable bool   `json:"targetable" doc:"The bot may post there (an audience of kind chats reaches it)"`
}

type subscribersIn struct {
	ID     int64  `path:"id" minimum:"1"`
	Status string `query:"status" enum:"active,blocked,stopped," doc:"Only this status; empty: all"`
	Cursor string `query:"cursor" doc:"The next_cursor of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

type subscribersOut struct {
	Body struct {
		Items      []Subscriber `json:"items"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}
}

type channelChatsOut struct {
	Body struct {
		Items []ChannelChat `json:"items"`
	}
}

func (s *Server) registerSubscribers() {
	huma.Register(s.api, op("listSubscribers", http.MethodGet, "/channels/{id}/subscribers",
		"The subscribers of a managed channel bot, by chat id", roleViewer), s.listSubscribers)
	huma.Register(s.api, op("listChannelChats", http.MethodGet, "/channels/{id}/chats",
		"The groups and channels a channel bot was added to", roleViewer), s.listChannelChats)
}

// channelExists answers 404 for a channel that does not exist (or was deleted).
func (s *Server) channelExists(ctx context.Context, id int64) error {
	if _, err := s.cfg.Store.ChannelGet(ctx, id); errors.Is(err, store.ErrNotFound) {
		return notFound()
	} else if err != nil {
		return s.fail(ctx, err)
	}
	return nil
}

func (s *Server) listSubscribers(ctx context.Context, in *subscribersIn) (*subscribersOut, error) {
	if err := s.channelExists(ctx, in.ID); err != nil {
		return nil, err
	}
	var after int64
	if in.Cursor != "" {
		n, err := strconv.ParseInt(in.Cursor, 10, 64)
		if err != nil || n <= 0 {
			return nil, invalid("api.bad_cursor", "the cursor is not one this API gave")
		}
		after = n
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 100
	}
	list, err := s.cfg.Store.SubscriberPage(ctx, in.ID, in.Status, after, limit)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &subscribersOut{}
	out.Body.Items = make([]Subscriber, 0, len(list))
	for _, r := range list {
		out.Body.Items = append(out.Body.Items, Subscriber{ChatID: r.ChatID, FirstName: r.FirstName, LastName: r.LastName,
			Username: r.Username, LanguageCode: r.LanguageCode, Source: r.Source, Status: r.Status,
			JoinedAt: r.JoinedAt, LastSeenAt: r.LastSeenAt})
	}
	if len(list) == limit {
		out.Body.NextCursor = strconv.FormatInt(list[len(list)-1].ChatID, 10)
	}
	return out, nil
}

func (s *Server) listChannelChats(ctx context.Context, in *struct {
	ID int64 `path:"id" minimum:"1"`
}) (*channelChatsOut, error) {
	if err := s.channelExists(ctx, in.ID); err != nil {
		return nil, err
	}
	list, err := s.cfg.Store.ChannelChatList(ctx, in.ID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &channelChatsOut{}
	out.Body.Items = make([]ChannelChat, 0, len(list))
	for _, c := range list {
		out.Body.Items = append(out.Body.Items, ChannelChat{ChatID: c.ChatID, Type: c.Type, Title: c.Title,
			BotStatus: c.BotStatus, Targetable: c.Targetable})
	}
	return out, nil
}
