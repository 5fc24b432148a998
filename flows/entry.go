package flows

import (
	"context"
	"fmt"
	"strings"

	"herald/store"
)

// The engine's entry points, one per kind of update. Each gets its deadline here, runs
// the Prepare phase of the step or screen it reaches (outside any transaction), then
// one transaction for the rest.

// begin readies t for one update: the services, no replies yet, and the pool-bound
// store for the Prepare phase (run binds it to the transaction afterwards).
func (e *Engine) begin(t *Turn) {
	t.st, t.services = e.store, e.services
	t.replies, t.notice, t.start, t.prepared = nil, "", nil, nil
}

func (e *Engine) run(ctx context.Context, t *Turn, fn func() error) error {
	return e.store.InTx(ctx, func(tx *store.Store) error {
		t.st, t.services = tx, e.txServices
		defer func() { t.st, t.services = e.store, e.services }()
		if err := tx.DialogLockChat(ctx, t.ChatID); err != nil {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
		if t.start != nil {
			req := t.start
			t.start = nil
			return e.startWith(ctx, t, req)
		}
		return nil
	})
}

// Command handles "/name args". In the middle of a dialog every command but /cancel
// first asks whether to drop the draft.
func (e *Engine) Command(ctx context.Context, t *Turn, name string) error {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	e.begin(t)
	return e.run(ctx, t, func() error {
		lv, err := e.load(ctx, t)
		if err != nil {
			return err
		}
		if name == "cancel" {
			if lv == nil {
				t.Say("dialog.nothing_to_cancel")
				return nil
			}
			return e.cancel(ctx, t, lv)
		}
		target, ok := e.commands[name]
		if !ok {
			t.Say("command.unknown")
			return nil
		}
		if lv != nil {
			version := lv.row.Version + 1
			lv.row.Version = version
			lv.row.ExpiresAt = t.Now.Add(e.ttl)
			t.Reply(Reply{Text: t.L.T("dialog.drop_question", map[string]any{"Flow": t.L.T(FlowTitleKey(lv.row.Flow))}), HTML: true,
				Keyboard: [][]Button{
					{{Text: t.L.T("button.drop"), Data: FlowCallback(version, "drop:"+name)}},
					{{Text: t.L.T("button.keep"), Data: FlowCallback(version, "keep")}},
				}})
			return t.st.DialogPut(ctx, lv.row)
		}
		return e.runTarget(ctx, t, target)
	})
}

func (e *Engine) runTarget(ctx context.Context, t *Turn, target Target) error {
	if target.Flow != "" {
		return e.startFlow(ctx, t, target.Flow, nil, 0)
	}
	return e.runAction(ctx, t, target.Action, target.Arg)
}

func (e *Engine) runAction(ctx context.Context, t *Turn, name, arg string) error {
	a, ok := e.actions[name]
	if !ok {
		return fmt.Errorf("no action %q", name)
	}
	if !t.Actor.allows(a.Role) {
		return Forbidden()
	}
	return a.Run(ctx, t, arg)
}

// Message handles a message: the current step's input, or a hint when no dialog is open.
func (e *Engine) Message(ctx context.Context, t *Turn, in Input) error {
	timeout := e.timeout
	if in.Media != nil && in.Media.Kind == "document" {
		timeout = e.uploadTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	e.begin(t)
	prep, err := e.prepareInput(ctx, t, in, anyVersion)
	if err != nil {
		return err
	}
	defer prep.close()
	return e.run(ctx, t, func() error {
		lv, err := e.load(ctx, t)
		if err != nil {
			return err
		}
		if lv == nil {
			if isListDocument(in.Media) { // a list dropped anywhere: its import begins
				startImportWith(t, in.Media)
				return nil
			}
			if in.Post != nil { // a forwarded post: a template begins
				return startTemplateFromPost(ctx, t, in)
			}
			t.Say("hint.menu")
			return nil
		}
		return e.handle(ctx, t, lv, prep)
	})
}

// Callback handles a button press. Data that does not parse, a screen that does not
// exist and a dialog button whose version is not the session's all get the polite
// "outdated" notice and change nothing.
func (e *Engine) Callback(ctx context.Context, t *Turn, data string) error {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	e.begin(t)
	prefix, rest, _ := strings.Cut(data, ":")
	if prefix != flowPrefix {
		return e.screen(ctx, t, data, prefix, rest)
	}
	version, action, ok := parseFlowCallback(rest)
	if !ok {
		t.Notice(t.L.T(outdatedKey))
		return nil
	}
	var prep *prepared
	if !engineAction(action) {
		var err error
		if prep, err = e.prepareInput(ctx, t, Input{Action: action}, version); err != nil {
			return err
		}
		defer prep.close()
	}
	return e.run(ctx, t, func() error {
		lv, err := e.load(ctx, t)
		if err != nil {
			return err
		}
		if lv == nil || lv.row.Version != version {
			t.Notice(t.L.T(outdatedKey))
			return nil
		}
		switch {
		case action == "cancel":
			return e.cancel(ctx, t, lv)
		case action == "keep":
			return e.advance(ctx, t, lv, Stay)
		case action == importFileAction:
			return e.importStashed(ctx, t, lv)
		case strings.HasPrefix(action, "drop:"):
			return e.drop(ctx, t, lv, strings.TrimPrefix(action, "drop:"))
		case action == "back":
			event := backEvent(lv.def.Steps[lv.sess.State], lv.sess)
			if event == "" {
				t.Notice(t.L.T(outdatedKey))
				return nil
			}
			return e.advance(ctx, t, lv, event)
		}
		return e.handle(ctx, t, lv, prep)
	})
}

// backEvent is the event of step's Back button in sess, "" when it has none.
func backEvent(step *Step, sess *Session) string {
	if step.BackTo != nil {
		return step.BackTo(sess)
	}
	if step.Back != "" {
		return "back"
	}
	return ""
}

// engineAction reports whether a dialog button is the engine's own (never a step's).
func engineAction(action string) bool {
	return action == "cancel" || action == "keep" || action == "back" || action == importFileAction ||
		strings.HasPrefix(action, "drop:")
}

// importStashed ends the open dialog for the upload dialog with the list the admin
// sent at one of its text steps (see stashFile); a dialog that takes sub-dialogs'
// results keeps going, the upload dialog opened as its child.
func (e *Engine) importStashed(ctx context.Context, t *Turn, lv *live) error {
	f := stashedFile(lv.row.Draft)
	if f == nil {
		t.Notice(t.L.T(outdatedKey))
		return nil
	}
	if lv.def.Resume != nil { // a dialog that takes what sub-dialogs make: the list is one
		return e.importForCaller(ctx, t, lv, f)
	}
	if err := t.st.DialogDelete(ctx, t.ChatID); err != nil {
		return err
	}
	startImportWith(t, f.media())
	return nil
}

// screen runs a stateless screen: its Prepare outside the transaction, then Run.
func (e *Engine) screen(ctx context.Context, t *Turn, data, prefix, arg string) error {
	a, ok := e.actions[prefix]
	if !ok || len(data) > maxCallbackData {
		t.Notice(t.L.T(outdatedKey))
		return nil
	}
	if !t.Actor.allows(a.Role) {
		return Forbidden()
	}
	if a.Prepare != nil {
		v, err := a.Prepare(ctx, t, arg)
		if err != nil {
			return err
		}
		t.prepared = v
	}
	return e.run(ctx, t, func() error { return a.Run(ctx, t, arg) })
}

// drop ends the open dialog for the command the admin typed meanwhile.
func (e *Engine) drop(ctx context.Context, t *Turn, lv *live, command string) error {
	target, ok := e.commands[command]
	if !ok {
		t.Notice(t.L.T(outdatedKey))
		return nil
	}
	if err := t.st.DialogDelete(ctx, t.ChatID); err != nil {
		return err
	}
	if target.Flow != "" {
		return e.startFlow(ctx, t, target.Flow, nil, lv.row.Version)
	}
	return e.runAction(ctx, t, target.Action, target.Arg)
}

// cancel ends the open dialog; a sub-dialog's caller resumes instead.
func (e *Engine) cancel(ctx context.Context, t *Turn, lv *live) error {
	if lv.sess.caller != nil {
		return e.cancelChild(ctx, t, lv)
	}
	if err := t.st.DialogDelete(ctx, t.ChatID); err != nil {
		return err
	}
	t.Say("dialog.cancelled")
	return nil
}
