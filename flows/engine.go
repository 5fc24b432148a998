package flows

import (
	"context"
	"fmt"
	"time"

	"github.com/looplab/fsm"

	"herald/store"
)

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
	// Resume, when set, takes back what a sub-dialog opened with s.Call made (its
	// id; 0 when it was cancelled) and returns the event to fire from the state the
	// call named (Stay to prompt it again). See subdialog.go.
	Resume func(ctx context.Context, t *Turn, s *Session, child string, id int64) (string, error)
}

// Step is one state of a dialog.
type Step struct {
	// Prompt queues what the admin sees on entering the step (t.Reply). Buttons come
	// from s.Button so that they carry the session version; the engine adds Back and
	// Cancel to the last message.
	Prompt func(ctx context.Context, t *Turn, s *Session) error
	// Prepare, when set, runs before the update's transaction, without the chat's
	// lock: the place for what is slow or talks to the network (a download, getMe,
	// a test send), which must never hold a transaction open. It gets a snapshot of
	// the session (read it, never Save: the draft is written by Handle) and returns
	// the Input that Handle will get, with whatever it found in Input.prepared (an
	// io.Closer there is closed after the transaction). An *Error it returns is shown
	// as if Handle had returned it, and Handle is not called. If the dialog moved on
	// between Prepare and the transaction, the input is answered as outdated.
	Prepare func(ctx context.Context, t *Turn, s *Session, in Input) (Input, error)
	// Handle takes a message or a button press and returns the event to fire: an
	// event of Events, Stay (remain and prompt again) or Done (the dialog ends; Handle
	// has queued the closing reply). An *Error (Invalid, Conflict…) is shown to the
	// admin with the step's buttons, and the step waits for corrected input; Handle
	// must not have saved the draft then. Outdated() answers a press of an unknown
	// button.
	Handle func(ctx context.Context, t *Turn, s *Session, in Input) (string, error)
	// Back is the state the Back button returns to, keeping the draft; "" for none.
	Back string
	// BackTo, when set, decides Back from the draft instead: the event to fire (one of
	// Events, leading to the screen the admin saw before), or "" for no Back button.
	// A wizard whose screens are skipped or taken out of order goes back along the
	// admin's own path.
	BackTo func(s *Session) string
}

// Special results of Step.Handle.
const (
	Stay = ""
	Done = "\x00done"
)

// Action is a stateless screen (menus, lists, cards, confirmations).
type Action struct {
	Role string // least role that may run it
	// Prepare, when set, runs before the transaction (see Step.Prepare): network
	// calls, and services that commit on their own (queue.Controls). What it returns
	// is in t.prepared when Run runs; an error it returns ends the update. Commands
	// cannot target such an action.
	Prepare func(ctx context.Context, t *Turn, arg string) (any, error)
	Run     func(ctx context.Context, t *Turn, arg string) error
}

// Target is what a command does: start a flow, or run an action with an argument.
type Target struct {
	Flow   string
	Action string
	Arg    string
}

// Default deadlines of one update (Config.Timeout, Config.UploadTimeout).
const (
	DefaultTimeout       = 15 * time.Second
	DefaultUploadTimeout = 60 * time.Second
)

// Config assembles an Engine. The dialogs and screens themselves are flows' own
// (Dialogs, and the screens behind the callback prefixes); the caller decides who may
// use which screen and which commands exist.
type Config struct {
	// Store is bound to the pool: each update runs in a transaction begun on it.
	Store *store.Store
	TTL   time.Duration // a dialog untouched this long expires
	// Roles names every screen by its callback prefix with the least role allowed to
	// use it. NewEngine refuses a prefix flows has no screen for, and a screen the
	// map leaves out.
	Roles    map[string]string
	Commands map[string]Target // command name (without "/") → target
	Services Services
	// Timeout bounds the handling of one update (default DefaultTimeout);
	// UploadTimeout that of a message with a document, which may be downloaded and
	// imported (default DefaultUploadTimeout).
	Timeout, UploadTimeout time.Duration
}

// Engine runs dialogs and screens. Every entry point handles one update: an optional
// Prepare outside any transaction, then one transaction in which the session row is
// locked, the step runs and the new state is saved; only then are the collected
// replies sent by the caller.
type Engine struct {
	services      *Services
	txServices    *Services // services without network calls, for inside the transaction
	store         *store.Store
	ttl           time.Duration
	timeout       time.Duration
	uploadTimeout time.Duration
	flows         map[string]*Definition
	events        map[string][]fsm.EventDesc
	actions       map[string]Action
	commands      map[string]Target
}

// NewEngine checks every definition (all states have steps, every event and Back
// target exists) and the routes, so that a broken flow fails at start-up, not in a
// chat.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("flows: Config.Store is required")
	}
	services := cfg.Services
	// Inside the transaction a flow sees no service that talks to the network or
	// commits on its own: calling one there fails as "not configured" in every test,
	// instead of holding a connection while Telegram answers.
	txServices := services
	txServices.Chat, txServices.Channels, txServices.Files, txServices.Controls = nil, nil, nil, nil
	txServices.Uploads, txServices.Exports, txServices.Charts = nil, nil, nil
	e := &Engine{services: &services, txServices: &txServices, store: cfg.Store, ttl: cfg.TTL, timeout: cfg.Timeout, uploadTimeout: cfg.UploadTimeout,
		flows: map[string]*Definition{}, events: map[string][]fsm.EventDesc{}, commands: cfg.Commands}
	if e.ttl <= 0 {
		e.ttl = 30 * time.Minute
	}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	if e.uploadTimeout <= 0 {
		e.uploadTimeout = DefaultUploadTimeout
	}
	var err error
	if e.actions, err = actionsWithRoles(cfg.Roles); err != nil {
		return nil, err
	}
	for _, d := range Dialogs() {
		if err := e.addFlow(d); err != nil {
			return nil, err
		}
	}
	for name, target := range cfg.Commands {
		if target.Flow != "" && e.flows[target.Flow] == nil {
			return nil, fmt.Errorf("command %s: no flow %q", name, target.Flow)
		}
		if target.Action != "" {
			a, ok := e.actions[target.Action]
			if !ok {
				return nil, fmt.Errorf("command %s: no action %q", name, target.Action)
			}
			if a.Prepare != nil {
				return nil, fmt.Errorf("command %s: action %q has a Prepare phase", name, target.Action)
			}
		}
	}
	return e, nil
}

// actionsWithRoles pairs every screen with its role from roles.
func actionsWithRoles(roles map[string]string) (map[string]Action, error) {
	all := screens()
	for name := range roles {
		if _, ok := all[name]; !ok {
			return nil, fmt.Errorf("route %q: flows has no such screen", name)
		}
	}
	out := make(map[string]Action, len(all))
	for name, a := range all {
		role, ok := roles[name]
		if !ok {
			return nil, fmt.Errorf("screen %q has no route (no role)", name)
		}
		if name == flowPrefix {
			return nil, fmt.Errorf("screen %q: the prefix is reserved for dialog buttons", name)
		}
		a.Role = role
		out[name] = a
	}
	return out, nil
}

func (e *Engine) addFlow(d *Definition) error {
	if _, dup := e.flows[d.Name]; dup || d.Name == "" {
		return fmt.Errorf("flow %q: empty or registered twice", d.Name)
	}
	if d.Steps[d.Initial] == nil {
		return fmt.Errorf("flow %s: initial state %q has no step", d.Name, d.Initial)
	}
	events := append([]fsm.EventDesc(nil), d.Events...)
	for _, ev := range d.Events {
		if d.Steps[ev.Dst] == nil {
			return fmt.Errorf("flow %s: event %s leads to %q, which has no step", d.Name, ev.Name, ev.Dst)
		}
		for _, src := range ev.Src {
			if d.Steps[src] == nil {
				return fmt.Errorf("flow %s: event %s leaves %q, which has no step", d.Name, ev.Name, src)
			}
		}
	}
	for state, step := range d.Steps {
		if step.Prompt == nil || step.Handle == nil {
			return fmt.Errorf("flow %s: step %s lacks Prompt or Handle", d.Name, state)
		}
		if step.Back != "" {
			if d.Steps[step.Back] == nil {
				return fmt.Errorf("flow %s: step %s goes back to %q, which has no step", d.Name, state, step.Back)
			}
			events = append(events, fsm.EventDesc{Name: "back", Src: []string{state}, Dst: step.Back})
		}
	}
	e.flows[d.Name] = d
	e.events[d.Name] = events
	return nil
}

// FlowTitleKey is the catalog key naming a flow in messages ("flow.<name>").
func FlowTitleKey(flow string) string { return "flow." + flow }
