package flows

import (
	"context"
	"testing"

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
