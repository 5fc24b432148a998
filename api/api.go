// Package api is Herald's HTTP API under /api/v1 (issue 15): the same services the
// management bot's dialogs use (the store, the importer, queue's starter and controls,
// flows' rules), reached with an API key instead of a Telegram account.
//
// The OpenAPI 3.1 document (/api/v1/openapi.json) is generated from the handlers' Go
// types by huma (code-first), so it cannot drift from the code: a route exists in the
// document because it was registered, with the types it decodes and encodes.
//
// Every call names its key in "Authorization: Bearer <key>". The key is checked, and
// its role against the operation's, before anything else happens: no key or a revoked
// one is 401, a viewer key on a changing operation 403, whatever object the path names.
// Errors are RFC 9457 problem+json whose "code" is flows' Error code and "key" the
// catalog text the bot would show.
package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/rs/zerolog"

	"herald/flows"
	"herald/i18n"
	"herald/store"
)

// Prefix is where the API lives on Herald's HTTP server.
const Prefix = "/api/v1"

// Config is what the API needs: the same store and services the bot's dialogs get.
type Config struct {
	Store    *store.Store
	Services flows.Services
	// Catalog gives problem details their text (in English).
	Catalog *i18n.Catalog
	Logger  zerolog.Logger
	Version string
	Now     func() time.Time // nil: time.Now
}

// Server is the API's handlers and their dependencies.
type Server struct {
	cfg Config
	api huma.API
	en  *i18n.Localizer
}

// Register mounts the API on mux and returns it (its OpenAPI document lists every
// operation).
func Register(mux humago.Mux, cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := huma.DefaultConfig("Herald API", cfg.Version)
	hc.OpenAPIPath = Prefix + "/openapi"
	hc.DocsPath = ""
	hc.SchemasPath = ""
	hc.CreateHooks = nil // no "$schema" links to a schemas path that is not served
	hc.Info.Description = "Campaigns, batches, channels and templates of Herald. Authenticate with " +
		"\"Authorization: Bearer <key>\"; owners create keys in the management bot with /apikeys."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "An API key created with /apikeys in the bot."},
	}
	hc.Security = []map[string][]string{{"bearer": {}}}
	s := &Server{cfg: cfg, en: cfg.Catalog.For("en")}
	s.api = humago.New(mux, hc)
	s.api.UseMiddleware(s.authenticate)
	s.registerTemplates()
	s.registerBatches()
	s.registerChannels()
	s.registerCampaigns()
	s.registerAudit()
	s.registerSubscribers()
	return s
}

// OpenAPI is the generated document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// Error bodies and codes are ours (problem+json with flows' codes). huma.NewError is
// a package variable: set once, before any API exists or serves.
func init() { huma.NewError = newProblem }

// Roles of operations: what a key needs.
const (
	roleViewer = store.RoleViewer
	roleAdmin  = store.RoleAdmin
)

// op describes an operation with the role it needs (kept in Metadata for the
// middleware, and in the description for readers of the document).
func op(id, method, path, summary, role string) huma.Operation {
	return huma.Operation{
		OperationID: id, Method: method, Path: Prefix + path, Summary: summary,
		Description: "Needs a key with role " + role + " or higher.",
		Metadata:    map[string]any{"role": role},
		Errors:      []int{http.StatusUnauthorized, http.StatusForbidden},
	}
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// audit returns the AuditFunc of the request's key for st (the transaction).
func (s *Server) audit(ctx context.Context, st *store.Store) flows.AuditFunc {
	k := keyOf(ctx)
	return func(ctx context.Context, action, target string, details map[string]any) error {
		if details == nil {
			details = map[string]any{}
		}
		details["api_key"] = k.Name
		return st.AuditAppend(ctx, store.AuditEntry{ActorID: store.APIKeyActor(k.ID), Action: action, Target: target, Details: details})
	}
}
