package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// AuditEntry is one line of the audit log. A negative actor_id is an API key (its id
// negated); a positive one a Telegram user.
type AuditEntry struct {
	ID      int64          `json:"id"`
	At      time.Time      `json:"at"`
	ActorID int64          `json:"actor_id"`
	Action  string         `json:"action"`
	Target  string         `json:"target"`
	Details map[string]any `json:"details"`
}

type auditIn struct {
	Cursor string `query:"cursor" doc:"The next_cursor of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type auditOut struct {
	Body struct {
		Items      []AuditEntry `json:"items"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}
}

func (s *Server) registerAudit() {
	// The bot shows the audit log to owners; an API key is at most admin, so reading
	// it needs an admin key.
	huma.Register(s.api, op("listAudit", http.MethodGet, "/audit", "The audit log, newest first", roleAdmin), s.listAudit)
}

func (s *Server) listAudit(ctx context.Context, in *auditIn) (*auditOut, error) {
	var before int64
	if in.Cursor != "" {
		n, err := strconv.ParseInt(in.Cursor, 10, 64)
		if err != nil || n <= 0 {
			return nil, invalid("api.bad_cursor", "the cursor is not one this API gave")
		}
		before = n
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 100
	}
	list, err := s.cfg.Store.AuditPage(ctx, before, limit)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := &auditOut{}
	out.Body.Items = make([]AuditEntry, 0, len(list))
	for _, e := range list {
		out.Body.Items = append(out.Body.Items, AuditEntry{ID: e.ID, At: e.At, ActorID: e.ActorID, Action: e.Action, Target: e.Target, Details: e.Details})
	}
	if len(list) == limit {
		out.Body.NextCursor = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	return out, nil
}
