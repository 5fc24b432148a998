package flows

import (
	"context"
	"herald/i18n"
	"herald/pgtest"
	"herald/store"
	"testing"
	"time"

	"github.com/looplab/fsm"
	"github.com/stretchr/testify/require"
)

func TestAddFlowRejectsBrokenDefinitions(t *testing.T) {
	t.Parallel()
	step := &Step{Prompt: func(context.Context, *Turn, *Session) error { return nil },
		Handle: func(context.Context, *Turn, *Session, Input) (string, error) { return Stay, nil }}
	for name, def := range map[string]*Definition{
		"no initial step": {Name: "a", Initial: "x", Steps: map[string]*Step{"y": step}},
		"dangling event":  {Name: "a", Initial: "x", Steps: map[string]*Step{"x": step}, Events: []fsm.EventDesc{{Name: "go", Src: []string{"x"}, Dst: "z"}}},
		"dangling back":   {Name: "a", Initial: "x", Steps: map[string]*Step{"x": {Prompt: step.Prompt, Handle: step.Handle, Back: "q"}}},
	} {
		e := &Engine{flows: map[string]*Definition{}, events: map[string][]fsm.EventDesc{}}
		require.Error(t, e.addFlow(def), name)
	}
}

// TestCheckText: text PostgreSQL refuses is caught before any step sees it.
func TestCheckText(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]Input{
		"nul in text":         {Text: "Promo\x00"},
		"invalid utf-8":       {Text: "Promo \xff"},
		"nul in a file name":  {Media: &Media{Kind: "document", FileName: "a\x00.csv"}},
		"nul in contact name": {ContactName: "A\x00"},
	} {
		require.Error(t, checkText(in), name)
	}
	require.NoError(t, checkText(Input{Text: "Привет, {{first_name}}! 👋"}))
}

// TestUpdateDeadline: a Prepare that waits on the network ends with the update's
// deadline, before any transaction is open.
func TestUpdateDeadline(t *testing.T) {
	t.Parallel()
	catalog, err := i18n.New("en")
	require.NoError(t, err)
	roles := map[string]string{}
	for name := range screens() {
		roles[name] = store.RoleViewer
	}
	st := store.New(pgtest.NewPool(t))
	e, err := NewEngine(Config{Store: st, Roles: roles, Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	prompt := func(_ context.Context, t *Turn, _ *Session) error { t.Say("dialog.continue"); return nil }
	require.NoError(t, e.addFlow(&Definition{Name: "slow", Role: store.RoleAdmin, Initial: "wait", Steps: map[string]*Step{
		"wait": {Prompt: prompt,
			Prepare: func(ctx context.Context, _ *Turn, _ *Session, in Input) (Input, error) {
				<-ctx.Done() // Telegram does not answer
				return in, ctx.Err()
			},
			Handle: func(context.Context, *Turn, *Session, Input) (string, error) { return Done, nil }},
	}}))
	actor := Actor{UserID: 5, Role: store.RoleOwner}
	turn := NewTurn(actor, 5, catalog.For("en"), time.Now())
	e.begin(turn)
	require.NoError(t, e.run(context.Background(), turn, func() error { return e.startFlow(context.Background(), turn, "slow", nil, 0) }))
	err = e.Message(context.Background(), NewTurn(actor, 5, catalog.For("en"), time.Now()), Input{Text: "go"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var state string
	require.NoError(t, st.Pool().QueryRow(context.Background(), `SELECT state FROM dialog_sessions`).Scan(&state))
	require.Equal(t, "wait", state, "the dialog stays where it was")
}
