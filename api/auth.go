package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"herald/store"
)

type ctxKey int

const (
	keyCtx ctxKey = iota
	bodyCtx
	writerCtx
)

func keyOf(ctx context.Context) store.APIKey {
	k, _ := ctx.Value(keyCtx).(store.APIKey)
	return k
}

// bodyOf is the request body, for the operations that stream it themselves.
func bodyOf(ctx context.Context) *http.Request {
	r, _ := ctx.Value(bodyCtx).(*http.Request)
	return r
}

// extendDeadlines gives a streamed upload longer than the server's default timeouts
// (sized for webhook updates): a 20 MB file over a slow link takes a while.
func extendDeadlines(ctx context.Context, d time.Duration) {
	if w, ok := ctx.Value(writerCtx).(http.ResponseWriter); ok {
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(d))
		_ = rc.SetWriteDeadline(time.Now().Add(d + 30*time.Second))
	}
}

var roleRank = map[string]int{store.RoleViewer: 1, store.RoleAdmin: 2}

// authenticate runs before huma reads anything of the request: the key, then its
// role against the operation's, then the declared body size; only then the handler,
// after which the call is audited with the key's name.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	auth := ctx.Header("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="herald"`)
		_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "an API key is required (Authorization: Bearer <key>)")
		return
	}
	k, err := s.cfg.Store.APIKeyByHash(ctx.Context(), store.HashAPIKey(strings.TrimSpace(token)))
	if errors.Is(err, store.ErrNotFound) {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="herald", error="invalid_token"`)
		_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "the API key is unknown or revoked")
		return
	}
	if err != nil {
		s.cfg.Logger.Error().Err(err).Msg("api: look up key")
		_ = huma.WriteErr(s.api, ctx, http.StatusServiceUnavailable, "the database does not answer")
		return
	}
	o := ctx.Operation()
	need, _ := o.Metadata["role"].(string)
	if roleRank[k.Role] < roleRank[need] || need == "" {
		_ = huma.WriteErr(s.api, ctx, http.StatusForbidden, "this key's role ("+k.Role+") does not allow this")
		return
	}
	if max := o.MaxBodyBytes; max > 0 {
		if n, err := strconv.ParseInt(ctx.Header("Content-Length"), 10, 64); err == nil && n > max {
			// Refused from the header alone: the body stays unread, so the connection
			// cannot be reused.
			ctx.SetHeader("Connection", "close")
			_ = huma.WriteErr(s.api, ctx, http.StatusRequestEntityTooLarge,
				"request body too large (limit "+strconv.FormatInt(max, 10)+" bytes)")
			return
		}
	}
	r, w := humago.Unwrap(ctx)
	ctx = huma.WithValue(huma.WithValue(huma.WithValue(ctx, keyCtx, k), bodyCtx, r), writerCtx, w)
	next(ctx)
	entry := store.AuditEntry{ActorID: store.APIKeyActor(k.ID), Action: "api.call", Target: o.OperationID,
		Details: map[string]any{"api_key": k.Name, "method": ctx.Method(), "path": ctx.URL().Path, "status": ctx.Status()}}
	if err := s.cfg.Store.AuditAppend(context.WithoutCancel(ctx.Context()), entry); err != nil {
		s.cfg.Logger.Error().Err(err).Str("operation", o.OperationID).Msg("api: audit call")
	}
}
