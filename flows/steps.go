package flows

import (
	"context"
	"errors"
	"fmt"

	"github.com/looplab/fsm"

	"herald/store"
)

// The session side of the engine: load the chat's dialog, give a step its input,
// fire the event, prompt the next step and save.

// live is a session loaded for one update.
type live struct {
	row  store.DialogSession
	sess *Session
	def  *Definition
}

// load returns the chat's open session, or nil. An expired one is removed here and
// the admin told, since the periodic job may not have run yet.
func (e *Engine) load(ctx context.Context, t *Turn) (*live, error) {
	row, err := t.st.DialogGetForUpdate(ctx, t.ChatID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	def := e.flows[row.Flow]
	if row.ExpiresAt.Before(t.Now) || def == nil || def.Steps[row.State] == nil || row.UserID != t.Actor.UserID {
		if err := t.st.DialogDelete(ctx, t.ChatID); err != nil {
			return nil, err
		}
		if row.ExpiresAt.Before(t.Now) {
			t.Say("dialog.expired", map[string]any{"Flow": t.L.T(FlowTitleKey(row.Flow))})
		}
		return nil, nil
	}
	own, caller := splitDraft(row.Draft)
	return &live{row: row, def: def, sess: &Session{Flow: row.Flow, State: row.State, Version: row.Version, draft: own, caller: caller}}, nil
}

// handle gives the prepared input to the current step and moves on.
func (e *Engine) handle(ctx context.Context, t *Turn, lv *live, prep *prepared) error {
	step := lv.def.Steps[lv.sess.State]
	event, err := "", prep.err
	switch {
	case err == nil && prep.ran != (step.Prepare != nil),
		prep.ran && (prep.version != lv.row.Version || prep.state != lv.row.State):
		// The dialog moved on while Prepare ran (or before): what it found, or did not
		// look for, belongs to another step.
		err = Outdated()
	case err == nil:
		event, err = step.Handle(ctx, t, lv.sess, prep.in)
	}
	var fe *Error
	switch {
	case err == nil:
	case errors.As(err, &fe) && fe.Key == outdatedKey:
		t.Notice(t.L.T(outdatedKey))
		return nil
	case errors.As(err, &fe) && fe.Code != CodeInternal:
		// Wrong input: say what is wrong and how to fix it, under the step's buttons
		// (the prompt itself is still on screen above); the draft stays as it was.
		text := t.L.T(fe.Key, fe.Data)
		if fe.Code != CodeNote {
			text = "⚠️ " + text
		}
		if isListDocument(prep.in.Media) && lv.row.Flow != FlowBatchNew {
			return e.offerImport(ctx, t, lv, text, prep.in.Media)
		}
		return e.advanceWith(ctx, t, lv, Stay, &Reply{Text: text, HTML: true})
	default:
		return err
	}
	return e.advance(ctx, t, lv, event)
}

// offerImport answers a list sent where the step wanted something else: what was
// wrong, and a button that imports the file instead (kept in the draft meanwhile).
func (e *Engine) offerImport(ctx context.Context, t *Turn, lv *live, text string, m *Media) error {
	draft, err := stashFile(lv.sess.draft, m)
	if err != nil {
		return fmt.Errorf("stash the file: %w", err)
	}
	lv.sess.draft = draft
	hint := "dialog.document_hint"
	if lv.def.Resume != nil { // imported in a sub-dialog: this one goes on (subdialog.go)
		hint = "dialog.document_hint_keep"
	}
	text += "\n\n" + t.L.T(hint, map[string]any{"File": esc(m.FileName)})
	if err := e.advanceWith(ctx, t, lv, Stay, &Reply{Text: text, HTML: true}); err != nil {
		return err
	}
	last := &t.replies[len(t.replies)-1]
	last.Keyboard = append([][]Button{{lv.sess.Button(t.L.T("button.import_file"), importFileAction)}}, last.Keyboard...)
	return nil
}

// advance fires event, prompts the new step and saves the session (or ends it).
func (e *Engine) advance(ctx context.Context, t *Turn, lv *live, event string) error {
	return e.advanceWith(ctx, t, lv, event, nil)
}

// advanceWith is advance; with instead non-nil, the prompt's texts are replaced by
// instead, which takes the prompt's (fresh-versioned) buttons.
func (e *Engine) advanceWith(ctx context.Context, t *Turn, lv *live, event string, instead *Reply) error {
	for event == Calling || (event == Done && lv.sess.caller != nil) { // a resumed caller may call again
		var err error
		if event, err = e.switchDialog(ctx, t, lv, event); err != nil {
			return err
		}
	}
	if event == Done {
		return t.st.DialogDelete(ctx, t.ChatID)
	}
	if event != Stay {
		machine := fsm.NewFSM(lv.sess.State, e.events[lv.def.Name], nil)
		if err := machine.Event(ctx, event); err != nil && !errors.As(err, new(fsm.NoTransitionError)) {
			return fmt.Errorf("flow %s: event %s in state %s: %w", lv.def.Name, event, lv.sess.State, err)
		}
		lv.sess.State = machine.Current()
	}
	lv.sess.Version = lv.row.Version + 1
	first := len(t.replies)
	if err := e.prompt(ctx, t, lv.def, lv.sess); err != nil {
		return err
	}
	if instead != nil {
		instead.Keyboard = t.replies[len(t.replies)-1].Keyboard
		t.replies = append(t.replies[:first], *instead)
	}
	draft, err := joinDraft(lv.sess.draft, lv.sess.caller)
	if err != nil {
		return err
	}
	lv.row.State, lv.row.Version, lv.row.Draft = lv.sess.State, lv.sess.Version, draft
	lv.row.ExpiresAt = t.Now.Add(e.ttl)
	return t.st.DialogPut(ctx, lv.row)
}

// startFlow opens a new dialog; after is the version of a dialog it replaces, so that
// the new one's buttons never share a version with the old one's.
func (e *Engine) startFlow(ctx context.Context, t *Turn, name string, draft any, after int) error {
	def := e.flows[name]
	if def == nil {
		return fmt.Errorf("no flow %q", name)
	}
	if !t.Actor.allows(def.Role) {
		return Forbidden()
	}
	// Versions start from the clock so that a keyboard of an earlier dialog in this
	// chat (same flow or not) can never match the new one.
	version := max(int(t.Now.Unix()-1_700_000_000), after+1)
	sess := &Session{Flow: name, State: def.Initial, Version: version}
	if draft != nil {
		if err := sess.Save(draft); err != nil {
			return err
		}
	}
	if err := e.prompt(ctx, t, def, sess); err != nil {
		return err
	}
	return t.st.DialogPut(ctx, store.DialogSession{
		ChatID: t.ChatID, UserID: t.Actor.UserID, Flow: name, State: sess.State, Draft: sess.draft,
		Version: sess.Version, Language: t.L.Lang, ExpiresAt: t.Now.Add(e.ttl),
	})
}

// prompt queues the step's prompt and puts Back and Cancel under its last message.
func (e *Engine) prompt(ctx context.Context, t *Turn, def *Definition, sess *Session) error {
	step := def.Steps[sess.State]
	first := len(t.replies)
	if err := step.Prompt(ctx, t, sess); err != nil {
		return err
	}
	nav := []Button{}
	if backEvent(step, sess) != "" {
		nav = append(nav, sess.Button(t.L.T("button.back"), "back"))
	}
	nav = append(nav, sess.Button(t.L.T("button.cancel"), "cancel"))
	if len(t.replies) == first {
		t.Reply(Reply{Text: t.L.T("dialog.continue"), HTML: true})
	}
	last := &t.replies[len(t.replies)-1]
	last.Keyboard = append(last.Keyboard, nav)
	return nil
}

const outdatedKey = "callback.outdated"

// Outdated is what Step.Handle returns for a button it does not know: the press came
// from an old keyboard.
func Outdated() *Error { return &Error{Code: CodeConflict, Key: outdatedKey} }
