package flows

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/looplab/fsm"

	"herald/i18n"
	"herald/store"
)

// FlowAdminAdd is the owners' dialog that adds an admin or a viewer.
const FlowAdminAdd = "adm_add"

type adminDraft struct {
	UserID int64  `json:"user_id,omitempty"`
	Name   string `json:"name,omitempty"`
}

// dialogAdminAdd asks who (user ID, forwarded message or shared contact), then which role.
func dialogAdminAdd() *Definition {
	return &Definition{
		Name:    FlowAdminAdd,
		Role:    store.RoleOwner,
		Initial: "who",
		Events:  []fsm.EventDesc{{Name: "chosen", Src: []string{"who"}, Dst: "role"}},
		Steps: map[string]*Step{
			"who":  {Prompt: promptAdminWho, Handle: handleAdminWho},
			"role": {Prompt: promptAdminRole, Handle: handleAdminRole, Back: "who"},
		},
	}
}

func promptAdminWho(_ context.Context, t *Turn, _ *Session) error {
	t.Say("adm.ask_who")
	return nil
}

func handleAdminWho(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	if in.Action != "" {
		return "", Outdated()
	}
	var d adminDraft
	switch {
	case in.ContactUserID != 0:
		d = adminDraft{UserID: in.ContactUserID, Name: in.ContactName}
	case in.ForwardUserID != 0:
		d = adminDraft{UserID: in.ForwardUserID, Name: in.ForwardName}
	case in.ForwardHidden:
		return "", Invalid("adm.forward_hidden", nil)
	default:
		id, err := strconv.ParseInt(strings.TrimSpace(in.Text), 10, 64)
		if err != nil || id <= 0 {
			return "", Invalid("adm.bad_id", nil)
		}
		d.UserID = id
	}
	existing, err := admins(t).AdminGet(ctx, d.UserID)
	switch {
	case err == nil && existing.Role == store.RoleOwner:
		return "", Invalid("adm.is_owner", nil)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	return "chosen", s.Save(d)
}

func promptAdminRole(_ context.Context, t *Turn, s *Session) error {
	var d adminDraft
	if err := s.Load(&d); err != nil {
		return err
	}
	t.Reply(Reply{Text: t.L.T("adm.ask_role", i18n.Data{"Who": esc(adminLabel(d.UserID, d.Name))}), HTML: true,
		Keyboard: [][]Button{{
			s.Button(t.L.T("role.admin"), store.RoleAdmin),
			s.Button(t.L.T("role.viewer"), store.RoleViewer),
		}}})
	return nil
}

func handleAdminRole(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	if in.Action == "" {
		return "", Invalid("adm.press_role", nil)
	}
	if in.Action != store.RoleAdmin && in.Action != store.RoleViewer {
		return "", Outdated()
	}
	var d adminDraft
	if err := s.Load(&d); err != nil {
		return "", err
	}
	created, err := admins(t).AdminPut(ctx, store.Admin{UserID: d.UserID, Role: in.Action, DisplayName: d.Name, AddedBy: t.Actor.UserID})
	if errors.Is(err, store.ErrOwner) {
		return "", Invalid("adm.is_owner", nil)
	}
	if err != nil {
		return "", err
	}
	action := "admin.added"
	if !created {
		action = "admin.role_changed"
	}
	if err := t.Audit(ctx, action, userTarget(d.UserID), map[string]any{"role": in.Action, "name": d.Name}); err != nil {
		return "", err
	}
	t.Reply(Reply{Text: t.L.T("adm.added", i18n.Data{"Who": esc(adminLabel(d.UserID, d.Name)), "Role": t.L.T("role." + in.Action)}), HTML: true,
		Keyboard: [][]Button{{{Text: t.L.T("button.admins"), Data: ScreenCallback(ActAdmins, "")}}}})
	return Done, nil
}

func adminLabel(id int64, name string) string {
	if name == "" {
		return itoa(id)
	}
	return name + " (" + itoa(id) + ")"
}

func userTarget(id int64) string { return "user:" + itoa(id) }

// showAdmins lists admins; owners also get Add and Remove buttons.
func showAdmins(ctx context.Context, t *Turn, _ string) error {
	list, err := admins(t).AdminList(ctx)
	if err != nil {
		return err
	}
	var lines []string
	var rows [][]Button
	owner := t.Actor.Role == store.RoleOwner
	for _, a := range list {
		lines = append(lines, esc(adminLabel(a.UserID, a.DisplayName))+" — "+t.L.T("role."+a.Role))
		if owner && a.Role != store.RoleOwner {
			rows = append(rows, []Button{{Text: t.L.T("button.remove_admin", i18n.Data{"Who": adminLabel(a.UserID, a.DisplayName)}),
				Data: ScreenCallback(ActAdminRemove, itoa(a.UserID))}})
		}
	}
	var add *Button
	if owner {
		add = &Button{Text: t.L.T("button.add_admin"), Data: ScreenCallback(ActAdminAdd, "")}
	}
	listScreen(t, t.L.N("adm.list_header", len(list)), lines, rows, add)
	return nil
}

// startAdminAdd opens the add-admin dialog.
func startAdminAdd(_ context.Context, t *Turn, _ string) error {
	t.Start(FlowAdminAdd, nil)
	return nil
}

func adminArg(ctx context.Context, t *Turn, arg string) (store.Admin, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return store.Admin{}, NotFound("adm.gone")
	}
	a, err := admins(t).AdminGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Admin{}, NotFound("adm.gone")
	}
	return a, err
}

// askRemoveAdmin asks for confirmation.
func askRemoveAdmin(ctx context.Context, t *Turn, arg string) error {
	a, err := adminArg(ctx, t, arg)
	if err != nil {
		return err
	}
	if a.Role == store.RoleOwner {
		return Conflict("adm.is_owner", nil)
	}
	askOnce(t, t.L.T("adm.remove_question", i18n.Data{"Who": esc(adminLabel(a.UserID, a.DisplayName))}),
		"button.remove_yes", ScreenCallback(ActAdminRemoveConfirm, itoa(a.UserID)), ScreenCallback(ActAdmins, ""))
	return nil
}

// removeAdmin removes after confirmation.
func removeAdmin(ctx context.Context, t *Turn, arg string) error {
	a, err := adminArg(ctx, t, arg)
	if err != nil {
		return err
	}
	switch _, err := admins(t).AdminDelete(ctx, a.UserID); {
	case errors.Is(err, store.ErrOwner):
		return Conflict("adm.is_owner", nil)
	case errors.Is(err, store.ErrNotFound):
		return NotFound("adm.gone")
	case err != nil:
		return err
	}
	if err := t.Audit(ctx, "admin.removed", userTarget(a.UserID), map[string]any{"role": a.Role, "name": a.DisplayName}); err != nil {
		return err
	}
	t.Notice(t.L.T("adm.removed", i18n.Data{"Who": adminLabel(a.UserID, a.DisplayName)}))
	return showAdmins(ctx, t, "")
}
