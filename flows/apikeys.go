package flows

import (
	"context"
	"errors"
	"strconv"

	"github.com/looplab/fsm"

	"herald/i18n"
	"herald/store"
)

// FlowAPIKeyNew is the owners' dialog that creates an API key: name → role → the key,
// shown once.
const FlowAPIKeyNew = "key_new"

// API key screens (callback prefixes).
const (
	ActAPIKeys             = "kyl"
	ActAPIKeyNew           = "kyn"
	ActAPIKeyRevoke        = "kyx" // asks; arg: key id
	ActAPIKeyRevokeConfirm = "kyy"
)

type apiKeyStore interface {
	APIKeyCreate(ctx context.Context, name, role string, hash []byte, hint string, createdBy int64) (store.APIKey, error)
	APIKeyList(ctx context.Context) ([]store.APIKey, error)
	APIKeyGet(ctx context.Context, id int64) (store.APIKey, error)
	APIKeyRevoke(ctx context.Context, id int64) error
}

func apiKeys(t *Turn) apiKeyStore { return t.st }

type apiKeyDraft struct {
	Name string `json:"name,omitempty"`
}

func dialogAPIKeyNew() *Definition {
	return &Definition{
		Name: FlowAPIKeyNew, Role: store.RoleOwner, Initial: "name",
		Events: []fsm.EventDesc{{Name: "named", Src: []string{"name"}, Dst: "role"}},
		Steps: map[string]*Step{
			"name": {Prompt: promptAPIKeyName, Handle: handleAPIKeyName},
			"role": {Prompt: promptAPIKeyRole, Handle: handleAPIKeyRole, Back: "name"},
		},
	}
}

func promptAPIKeyName(_ context.Context, t *Turn, _ *Session) error {
	t.Say("key.ask_name")
	return nil
}

func handleAPIKeyName(_ context.Context, _ *Turn, s *Session, in Input) (string, error) {
	if in.Action != "" {
		return "", Outdated()
	}
	name, err := checkName(in)
	if err != nil {
		return "", err
	}
	return "named", s.Save(apiKeyDraft{Name: name})
}

func promptAPIKeyRole(_ context.Context, t *Turn, s *Session) error {
	var d apiKeyDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	t.Reply(Reply{Text: t.L.T("key.ask_role", i18n.Data{"Name": esc(d.Name)}), HTML: true,
		Keyboard: [][]Button{{
			s.Button(t.L.T("role.admin"), store.RoleAdmin),
			s.Button(t.L.T("role.viewer"), store.RoleViewer),
		}}})
	return nil
}

func handleAPIKeyRole(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	if in.Action == "" {
		return "", Invalid("adm.press_role", nil)
	}
	if in.Action != store.RoleAdmin && in.Action != store.RoleViewer {
		return "", Outdated()
	}
	var d apiKeyDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	key, hash, hint := store.NewAPIKey()
	k, err := apiKeys(t).APIKeyCreate(ctx, d.Name, in.Action, hash, hint, t.Actor.UserID)
	if err != nil {
		return "", err
	}
	if err := t.Audit(ctx, "api_key.created", apiKeyTarget(k.ID), map[string]any{"name": k.Name, "role": k.Role}); err != nil {
		return "", err
	}
	t.Reply(Reply{Text: t.L.T("key.created", i18n.Data{"Name": esc(k.Name), "Role": t.L.T("role." + k.Role), "Key": esc(key)}), HTML: true,
		Keyboard: [][]Button{{{Text: t.L.T("button.api_keys"), Data: ScreenCallback(ActAPIKeys, "")}}}})
	return Done, nil
}

func showAPIKeys(ctx context.Context, t *Turn, _ string) error {
	list, err := apiKeys(t).APIKeyList(ctx)
	if err != nil {
		return err
	}
	var lines []string
	var rows [][]Button
	for _, k := range list {
		lines = append(lines, "<b>"+esc(k.Name)+"</b> — "+t.L.T("role."+k.Role)+" · <code>"+esc(k.Hint)+"…</code>")
		rows = append(rows, []Button{{Text: t.L.T("button.revoke_key", i18n.Data{"Name": k.Name}), Data: ScreenCallback(ActAPIKeyRevoke, itoa(k.ID))}})
	}
	listScreen(t, t.L.N("key.list_header", len(list)), lines, rows,
		&Button{Text: t.L.T("button.new_key"), Data: ScreenCallback(ActAPIKeyNew, "")})
	return nil
}

func startAPIKeyNew(_ context.Context, t *Turn, _ string) error {
	t.Start(FlowAPIKeyNew, nil)
	return nil
}

func apiKeyArg(ctx context.Context, t *Turn, arg string) (store.APIKey, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return store.APIKey{}, NotFound("key.gone")
	}
	k, err := apiKeys(t).APIKeyGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.RevokedAt != nil) {
		return store.APIKey{}, NotFound("key.gone")
	}
	return k, err
}

func askRevokeAPIKey(ctx context.Context, t *Turn, arg string) error {
	k, err := apiKeyArg(ctx, t, arg)
	if err != nil {
		return err
	}
	askOnce(t, t.L.T("key.revoke_question", i18n.Data{"Name": esc(k.Name)}),
		"button.revoke_yes", ScreenCallback(ActAPIKeyRevokeConfirm, itoa(k.ID)), ScreenCallback(ActAPIKeys, ""))
	return nil
}

func revokeAPIKey(ctx context.Context, t *Turn, arg string) error {
	k, err := apiKeyArg(ctx, t, arg)
	if err != nil {
		return err
	}
	switch err := apiKeys(t).APIKeyRevoke(ctx, k.ID); {
	case errors.Is(err, store.ErrNotFound):
		return NotFound("key.gone")
	case err != nil:
		return err
	}
	if err := t.Audit(ctx, "api_key.revoked", apiKeyTarget(k.ID), map[string]any{"name": k.Name}); err != nil {
		return err
	}
	t.Notice(t.L.T("key.revoked", i18n.Data{"Name": k.Name}))
	return showAPIKeys(ctx, t, "")
}

func apiKeyTarget(id int64) string { return "api_key:" + itoa(id) }
