package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/looplab/fsm"

	"herald/store"
)

// Store is what the engine itself needs from the database. Each flow declares the
// further methods it uses as a small interface of its own (templateStore, adminStore…)
// and gets it with StoreAs; stores.go checks at compile time that *store.Store has
// them all.
type Store interface {
	DialogLockChat(ctx context.Context, chatID int64) error
	DialogGetForUpdate(ctx context.Context, chatID int64) (store.DialogSession, error)
	DialogPut(ctx context.Context, d store.DialogSession) error
	DialogDelete(ctx context.Context, chatID int64) error
	AuditAppend(ctx context.Context, e store.AuditEntry) error
}

// Tx runs fn in one database transaction (see store.Store.InTx).
type Tx func(ctx context.Context, fn func(Store) error) error

// StoreTx adapts *store.Store to Tx.
func StoreTx(s *store.Store) Tx {
	return func(ctx context.Context, fn func(Store) error) error {
		return s.InTx(ctx, func(tx *store.Store) error { return fn(tx) })
	}
}

// Definition is a dialog: named states, each a Step, and the events between them.
// The engine builds a looplab/fsm machine from Events (plus a "back" event for every
// step with a Back target), restores it at the saved state for each update, and lets
// it decide whether the event a step returned is a legal transition.
type Definition struct {
	Name    string
	Role    string // least role that may start it (store.RoleAdmin, store.RoleOwner)
	Initial string
	Events  []fsm.EventDesc
	Steps   map[string]*Step
}

// Step is one state of a dialog.
type Step struct {
	// Prompt queues what the admin sees on entering the step (t.Reply). Buttons come
	// from s.Button so that they carry the session version; the engine adds Back and
	// Cancel to the last message.
	Prompt func(ctx context.Context, t *Turn, s *Session) error
	// Handle takes a message or a button press and returns the event to fire: an
	// event of Events, Stay (remain and prompt again) or Done (the dialog ends; Handle
	// has queued the closing reply). An *Error (Invalid, Conflict…) is shown to the
	// admin with the step's buttons, and the step waits for corrected input; Handle
	// must not have saved the draft then. Outdated() answers a press of an unknown
	// button.
	Handle func(ctx context.Context, t *Turn, s *Session, in Input) (string, error)
	// Back is the state the Back button returns to, keeping the draft; "" for none.
	Back string
}

// Special results of Step.Handle.
const (
	Stay = ""
	Done = "\x00done"
)

// Action is a stateless screen or command (menus, lists, cards, confirmations).
type Action struct {
	Role string // least role that may run it
	Run  func(ctx context.Context, t *Turn, arg string) error
}

// Target is what a command does: start a flow, or run an action with an argument.
type Target struct {
	Flow   string
	Action string
	Arg    string
}

// Config assembles an Engine.
type Config struct {
	Tx       Tx
	TTL      time.Duration // a dialog untouched this long expires
	Flows    []*Definition
	Actions  map[string]Action
	Commands map[string]Target // command name (without "/") → target
	Services Services
}

// Engine runs dialogs and screens. Every entry point handles one update inside one
// transaction: the session row is locked, the step runs, the new state is saved,
// and only then are the collected replies sent by the caller.
type Engine struct {
	services *Services
	tx       Tx
	ttl      time.Duration
	flows    map[string]*Definition
	events   map[string][]fsm.EventDesc
	actions  map[string]Action
	commands map[string]Target
}

// NewEngine checks every definition (all states have steps, every event and Back
// target exists) so that a broken flow fails at start-up, not in a chat.
func NewEngine(cfg Config) (*Engine, error) {
	services := cfg.Services
	e := &Engine{services: &services, tx: cfg.Tx, ttl: cfg.TTL, flows: map[string]*Definition{}, events: map[string][]fsm.EventDesc{},
		actions: cfg.Actions, commands: cfg.Commands}
	if e.ttl <= 0 {
		e.ttl = 30 * time.Minute
	}
	for _, d := range cfg.Flows {
		if _, dup := e.flows[d.Name]; dup || d.Name == "" {
			return nil, fmt.Errorf("flow %q: empty or registered twice", d.Name)
		}
		if d.Steps[d.Initial] == nil {
			return nil, fmt.Errorf("flow %s: initial state %q has no step", d.Name, d.Initial)
		}
		events := append([]fsm.EventDesc(nil), d.Events...)
		for _, ev := range d.Events {
			if d.Steps[ev.Dst] == nil {
				return nil, fmt.Errorf("flow %s: event %s leads to %q, which has no step", d.Name, ev.Name, ev.Dst)
			}
			for _, src := range ev.Src {
				if d.Steps[src] == nil {
					return nil, fmt.Errorf("flow %s: event %s leaves %q, which has no step", d.Name, ev.Name, src)
				}
			}
		}
		for state, step := range d.Steps {
			if step.Prompt == nil || step.Handle == nil {
				return nil, fmt.Errorf("flow %s: step %s lacks Prompt or Handle", d.Name, state)
			}
			if step.Back != "" {
				if d.Steps[step.Back] == nil {
					return nil, fmt.Errorf("flow %s: step %s goes back to %q, which has no step", d.Name, state, step.Back)
				}
				events = append(events, fsm.EventDesc{Name: "back", Src: []string{state}, Dst: step.Back})
			}
		}
		e.flows[d.Name] = d
		e.events[d.Name] = events
	}
	for name, target := range cfg.Commands {
		if target.Flow != "" && e.flows[target.Flow] == nil {
			return nil, fmt.Errorf("command %s: no flow %q", name, target.Flow)
		}
		if target.Action != "" {
			if _, ok := e.actions[target.Action]; !ok {
				return nil, fmt.Errorf("command %s: no action %q", name, target.Action)
			}
		}
	}
	return e, nil
}

// FlowTitleKey is the catalog key naming a flow in messages ("flow.<name>").
func FlowTitleKey(flow string) string { return "flow." + flow }

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
	return &live{row: row, def: def, sess: &Session{Flow: row.Flow, State: row.State, Version: row.Version, draft: row.Draft}}, nil
}

func (e *Engine) run(ctx context.Context, t *Turn, fn func() error) error {
	return e.tx(ctx, func(st Store) error {
		t.st, t.services = st, e.services
		t.replies, t.notice, t.start = nil, "", nil
		if err := st.DialogLockChat(ctx, t.ChatID); err != nil {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
		if t.start != nil {
			req := t.start
			t.start = nil
			return e.startFlow(ctx, t, req.flow, req.draft, 0)
		}
		return nil
	})
}

// Command handles "/name args". In the middle of a dialog every command but /cancel
// first asks whether to drop the draft.
func (e *Engine) Command(ctx context.Context, t *Turn, name string) error {
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
			return e.cancel(ctx, t)
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
	return e.run(ctx, t, func() error {
		lv, err := e.load(ctx, t)
		if err != nil {
			return err
		}
		if lv == nil {
			t.Say("hint.menu")
			return nil
		}
		return e.handle(ctx, t, lv, in)
	})
}

// Callback handles a button press. Data that does not parse, a screen that does not
// exist and a dialog button whose version is not the session's all get the polite
// "outdated" notice and change nothing.
func (e *Engine) Callback(ctx context.Context, t *Turn, data string) error {
	return e.run(ctx, t, func() error {
		prefix, rest, _ := strings.Cut(data, ":")
		if prefix != flowPrefix {
			if _, ok := e.actions[prefix]; !ok || len(data) > maxCallbackData {
				t.Notice(t.L.T("callback.outdated"))
				return nil
			}
			return e.runAction(ctx, t, prefix, rest)
		}
		version, action, ok := parseFlowCallback(rest)
		if !ok {
			t.Notice(t.L.T("callback.outdated"))
			return nil
		}
		lv, err := e.load(ctx, t)
		if err != nil {
			return err
		}
		if lv == nil || lv.row.Version != version {
			t.Notice(t.L.T("callback.outdated"))
			return nil
		}
		switch {
		case action == "cancel":
			return e.cancel(ctx, t)
		case action == "keep":
			return e.advance(ctx, t, lv, Stay)
		case strings.HasPrefix(action, "drop:"):
			target, ok := e.commands[strings.TrimPrefix(action, "drop:")]
			if !ok {
				t.Notice(t.L.T("callback.outdated"))
				return nil
			}
			if err := t.st.DialogDelete(ctx, t.ChatID); err != nil {
				return err
			}
			if target.Flow != "" {
				return e.startFlow(ctx, t, target.Flow, nil, lv.row.Version)
			}
			return e.runAction(ctx, t, target.Action, target.Arg)
		case action == "back":
			if lv.def.Steps[lv.sess.State].Back == "" {
				t.Notice(t.L.T("callback.outdated"))
				return nil
			}
			return e.advance(ctx, t, lv, "back")
		}
		return e.handle(ctx, t, lv, Input{Action: action})
	})
}

func (e *Engine) cancel(ctx context.Context, t *Turn) error {
	if err := t.st.DialogDelete(ctx, t.ChatID); err != nil {
		return err
	}
	t.Say("dialog.cancelled")
	return nil
}

// handle gives input to the current step and moves on.
func (e *Engine) handle(ctx context.Context, t *Turn, lv *live, in Input) error {
	step := lv.def.Steps[lv.sess.State]
	event, err := step.Handle(ctx, t, lv.sess, in)
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
		return e.advanceWith(ctx, t, lv, Stay, &Reply{Text: text, HTML: true})
	default:
		return err
	}
	return e.advance(ctx, t, lv, event)
}

// advance fires event, prompts the new step and saves the session (or ends it).
func (e *Engine) advance(ctx context.Context, t *Turn, lv *live, event string) error {
	return e.advanceWith(ctx, t, lv, event, nil)
}

// advanceWith is advance; with instead non-nil, the prompt's texts are replaced by
// instead, which takes the prompt's (fresh-versioned) buttons.
func (e *Engine) advanceWith(ctx context.Context, t *Turn, lv *live, event string, instead *Reply) error {
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
	lv.row.State, lv.row.Version, lv.row.Draft = lv.sess.State, lv.sess.Version, lv.sess.draft
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
	if step.Back != "" {
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
