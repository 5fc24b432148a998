package flows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/flows"
	"herald/i18n"
	"herald/pgtest"
	"herald/render"
	"herald/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type testBundle struct {
	st     *store.Store
	engine *flows.Engine
	l      *i18n.Localizer
	owner  flows.Actor
	now    time.Time
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	st := store.New(pgtest.NewPool(t))
	catalog, err := i18n.New("en")
	require.NoError(t, err)
	engine, err := flows.NewEngine(flows.Config{
		Store: st, TTL: time.Hour, Roles: allRoles(),
		Commands: map[string]flows.Target{"newtemplate": {Flow: flows.FlowTemplateNew}, "menu": {Action: flows.ActMenu}},
	})
	require.NoError(t, err)
	return &testBundle{st: st, engine: engine, l: catalog.For("en"),
		owner: flows.Actor{UserID: 42, Role: store.RoleOwner, Name: "Olga"}, now: time.Now()}
}

func (b *testBundle) turn() *flows.Turn { return flows.NewTurn(b.owner, b.owner.UserID, b.l, b.now) }

func lastButtons(t *testing.T, turn *flows.Turn) map[string]string {
	t.Helper()
	replies := turn.Replies()
	require.NotEmpty(t, replies)
	out := map[string]string{}
	for _, row := range replies[len(replies)-1].Keyboard {
		for _, btn := range row {
			out[btn.Text] = btn.Data
		}
	}
	return out
}

func TestEngineVersionsAndForgedData(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	first := b.turn()
	require.NoError(t, b.engine.Command(ctx, first, "newtemplate"))
	cancelV1 := lastButtons(t, first)["✖️ Cancel"]
	require.True(t, strings.HasPrefix(cancelV1, "f:"))

	second := b.turn()
	require.NoError(t, b.engine.Message(ctx, second, flows.Input{Text: "Promo"}))
	require.Contains(t, second.Replies()[0].Text, "Step 2 of 4")

	for _, data := range []string{cancelV1, "f:zz:cancel", "f::cancel", "f:1", "nope:1", "menu" + strings.Repeat("x", 80), ""} {
		turn := b.turn()
		require.NoError(t, b.engine.Callback(ctx, turn, data), data)
		require.Equal(t, b.l.T("callback.outdated"), turn.NoticeText(), data)
		require.Empty(t, turn.Replies(), data)
	}
	var state string
	require.NoError(t, b.st.Pool().QueryRow(ctx, `SELECT state FROM dialog_sessions`).Scan(&state))
	require.Equal(t, "content", state)

	// The current Back button works and keeps the name.
	back := b.turn()
	require.NoError(t, b.engine.Callback(ctx, back, lastButtons(t, second)["◀️ Back"]))
	require.Contains(t, back.Replies()[0].Text, "Now: <b>Promo</b>")
}

func TestViewerCannotStartDialogs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	turn := flows.NewTurn(flows.Actor{UserID: 7, Role: store.RoleViewer}, 7, b.l, b.now)
	err := b.engine.Command(context.Background(), turn, "newtemplate")
	require.Equal(t, flows.CodeForbidden, flows.ErrorCode(err))
	require.NoError(t, b.engine.Command(context.Background(), flows.NewTurn(flows.Actor{UserID: 7, Role: store.RoleViewer}, 7, b.l, b.now), "menu"))
}

func TestNewEngineRejectsBrokenRoutes(t *testing.T) {
	t.Parallel()
	st := store.New(pgtest.NewPool(t))
	roles := allRoles()
	_, err := flows.NewEngine(flows.Config{Store: st, Roles: roles, Commands: map[string]flows.Target{"x": {Flow: "missing"}}})
	require.Error(t, err)
	_, err = flows.NewEngine(flows.Config{Store: st, Roles: roles, Commands: map[string]flows.Target{"x": {Action: flows.ActChannelVerify}}})
	require.Error(t, err, "a command cannot reach an action with a Prepare phase")
	roles["zz"] = store.RoleViewer
	_, err = flows.NewEngine(flows.Config{Store: st, Roles: roles})
	require.Error(t, err, "a route without a screen")
	delete(roles, "zz")
	delete(roles, flows.ActMenu)
	_, err = flows.NewEngine(flows.Config{Store: st, Roles: roles})
	require.Error(t, err, "a screen without a route")
}

// allRoles gives every screen a role, as bot/routes.go does.
func allRoles() map[string]string {
	roles := map[string]string{}
	for _, name := range []string{flows.ActMenu, flows.ActHelp, flows.ActSoon, flows.ActTemplates, flows.ActTemplateView,
		flows.ActTemplatePreview, flows.ActBatches, flows.ActBatchView, flows.ActChannels, flows.ActChannelView,
		flows.ActCampaigns, flows.ActCampaignView, flows.ActAdmins, flows.ActSettings, flows.ActSettingsSet} {
		roles[name] = store.RoleViewer
	}
	for _, name := range []string{flows.ActTemplateNew, flows.ActTemplateRename, flows.ActTemplateDuplicate,
		flows.ActTemplateDelete, flows.ActTemplateDeleteConfirm, flows.ActBatchNew, flows.ActBatchRename,
		flows.ActBatchDelete, flows.ActBatchDeleteConfirm, flows.ActChannelNew, flows.ActChannelRename,
		flows.ActChannelRate, flows.ActChannelToggle, flows.ActChannelVerify, flows.ActChannelRemove,
		flows.ActChannelRemoveConfirm, flows.ActChannelMode, flows.ActChannelModeTakeOver, flows.ActChannelWelcome,
		flows.ActChannelWelcomeSet, flows.ActCampaignNew, flows.ActCampaignCardControl, flows.ActCampaignControl,
		flows.ActCampaignControlSure, flows.ActCampaignEdit, flows.ActCampaignOperate, flows.ActCampaignOperateSure} {
		roles[name] = store.RoleAdmin
	}
	for _, name := range []string{flows.ActAdminAdd, flows.ActAdminRemove, flows.ActAdminRemoveConfirm, flows.ActAudit,
		flows.ActWebhooks, flows.ActWebhookAdd, flows.ActWebhookDelete, flows.ActWebhookDeleteConfirm,

		flows.ActAPIKeys, flows.ActAPIKeyNew, flows.ActAPIKeyRevoke, flows.ActAPIKeyRevokeConfirm} {
		roles[name] = store.RoleOwner
	}
	return roles
}

func TestLongestLengthAndSamples(t *testing.T) {
	t.Parallel()
	tpl, err := render.Parse("Hi {{first_name}}, {{x|a much longer default than sixty-four characters, to be sure it counts!!}}", nil)
	require.NoError(t, err)
	require.Equal(t, len("Hi , ")+64+len("a much longer default than sixty-four characters, to be sure it counts!!"), flows.LongestLength(tpl))
	catalog, err := i18n.New("en")
	require.NoError(t, err)
	values := flows.SampleValues(catalog.For("ru"), append(tpl.Vars(), render.Var{Name: "zzz"}))
	require.Equal(t, "Анна", values["first_name"])
	require.Equal(t, "a much longer default than sixty-four characters, to be sure it counts!!", values["x"])
	require.Equal(t, "‹zzz›", values["zzz"])
}
