package flows

import (
	"context"
	"encoding/json"
	"fmt"
)

// Sub-dialogs: a dialog may open another one for a missing piece (the campaign wizard
// opens the template builder when there is no template) and get the result back,
// as aiogram-dialog's "start a sub-dialog, return with the result" does. The caller
// is suspended as a frame (flow, state to come back to, draft) kept in the child's
// session row, under frameKey of its draft, so it survives restarts like any draft
// and needs no schema of its own. A step calls with s.Call and returns Calling; the
// child ends as usual (Done), having named what it made with s.Return; the engine
// then gives the id to the caller's Definition.Resume, which returns the event to
// fire from the frame's state. Cancel in a child returns to the caller with id 0.
// A child knows it runs for a caller (s.Nested) and then asks only what it must:
// names default from the content, a new sender bot gets the free rate.

// Calling is what Step.Handle returns after s.Call: the engine suspends the dialog
// and opens the child.
const Calling = "\x00call"

// frameKey holds the caller's frame in a child's stored draft.
const frameKey = "_caller"

// frame is a suspended caller.
type frame struct {
	Flow   string          `json:"flow"`
	State  string          `json:"state"` // where to resume
	Draft  json.RawMessage `json:"draft,omitempty"`
	Caller *frame          `json:"caller,omitempty"`
}

// callRequest is a child to open: its flow, the state it starts at ("" for its
// Initial), its draft, and the caller's state to resume at.
type callRequest struct {
	flow, state, resume string
	draft               any
	intro               string // a catalog key said before the child's first prompt
}

// Call asks the engine to open flow (at state, or its initial one when "") with draft
// once Handle returns Calling; the dialog resumes at resume when the child ends.
// intro, when not "", is a catalog key said first (why the child opens).
func (s *Session) Call(flow, state string, draft any, resume, intro string) string {
	s.call = &callRequest{flow: flow, state: state, draft: draft, resume: resume, intro: intro}
	return Calling
}

// Nested reports whether the dialog runs for a caller.
func (s *Session) Nested() bool { return s.caller != nil }

// Return names what the dialog made (a template's, list's or bot's id), given to the
// caller's Resume when the dialog ends.
func (s *Session) Return(id int64) { s.result = id }

// splitDraft separates a stored draft into the dialog's own and the caller's frame.
func splitDraft(stored json.RawMessage) (json.RawMessage, *frame) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(stored, &obj) != nil || obj[frameKey] == nil {
		return stored, nil
	}
	var f frame
	if json.Unmarshal(obj[frameKey], &f) != nil || f.Flow == "" {
		return stored, nil
	}
	delete(obj, frameKey)
	own, err := json.Marshal(obj)
	if err != nil {
		return stored, nil
	}
	return own, &f
}

// joinDraft is the stored form of a dialog's draft with its caller's frame.
func joinDraft(own json.RawMessage, caller *frame) (json.RawMessage, error) {
	if caller == nil {
		return own, nil
	}
	obj := map[string]json.RawMessage{}
	if len(own) > 0 && string(own) != "null" {
		if err := json.Unmarshal(own, &obj); err != nil {
			return nil, fmt.Errorf("draft of a sub-dialog is not an object: %w", err)
		}
	}
	f, err := json.Marshal(caller)
	if err != nil {
		return nil, err
	}
	obj[frameKey] = f
	return json.Marshal(obj)
}

// switchDialog handles the two moves between dialogs: Calling (open the child the
// step asked for, the current dialog becoming its caller's frame) and Done in a
// child (resume the caller). lv becomes the dialog that goes on; the returned event
// is to be fired in it (Stay to prompt its state again).
func (e *Engine) switchDialog(ctx context.Context, t *Turn, lv *live, event string) (string, error) {
	if event == Calling {
		req := lv.sess.call
		lv.sess.call = nil
		if req == nil {
			return "", fmt.Errorf("flow %s: Calling without Call", lv.def.Name)
		}
		caller := &frame{Flow: lv.sess.Flow, State: req.resume, Draft: lv.sess.draft, Caller: lv.sess.caller}
		return Stay, e.enterChild(t, lv, req, caller)
	}
	return e.resumeCaller(ctx, t, lv, lv.sess.result, true)
}

// enterChild makes lv the child dialog req names, with caller suspended.
func (e *Engine) enterChild(t *Turn, lv *live, req *callRequest, caller *frame) error {
	def := e.flows[req.flow]
	if def == nil {
		return fmt.Errorf("call: no flow %q", req.flow)
	}
	if !t.Actor.allows(def.Role) {
		return Forbidden()
	}
	state := req.state
	if state == "" {
		state = def.Initial
	}
	if def.Steps[state] == nil {
		return fmt.Errorf("call %s: no state %q", req.flow, state)
	}
	if e.flows[caller.Flow] == nil || e.flows[caller.Flow].Steps[caller.State] == nil {
		return fmt.Errorf("call %s: caller %s has no state %q", req.flow, caller.Flow, caller.State)
	}
	sess := &Session{Flow: def.Name, State: state, Version: lv.sess.Version, caller: caller}
	if req.draft != nil {
		if err := sess.Save(req.draft); err != nil {
			return err
		}
	}
	if req.intro != "" {
		t.Say(req.intro)
	}
	lv.def, lv.sess, lv.row.Flow = def, sess, def.Name
	return nil
}

// resumeCaller makes lv the caller of the child it holds, with the child's result
// (0: cancelled). finished says the child ended normally: its closing replies stay,
// without their buttons (Open, Menu), since the caller's prompt follows.
func (e *Engine) resumeCaller(ctx context.Context, t *Turn, lv *live, result int64, finished bool) (string, error) {
	f, child := lv.sess.caller, lv.sess.Flow
	def := e.flows[f.Flow]
	if def == nil || def.Steps[f.State] == nil {
		return "", fmt.Errorf("resume: caller %s has no state %q", f.Flow, f.State)
	}
	if finished {
		for i := range t.replies {
			t.replies[i].Keyboard = nil
		}
	}
	sess := &Session{Flow: f.Flow, State: f.State, Version: lv.sess.Version, draft: f.Draft, caller: f.Caller}
	lv.def, lv.sess, lv.row.Flow = def, sess, def.Name
	if def.Resume == nil {
		return Stay, nil
	}
	return def.Resume(ctx, t, sess, child, result)
}

// cancelChild ends a sub-dialog by Cancel: the caller resumes with nothing.
func (e *Engine) cancelChild(ctx context.Context, t *Turn, lv *live) error {
	event, err := e.resumeCaller(ctx, t, lv, 0, false)
	if err != nil {
		return err
	}
	return e.advance(ctx, t, lv, event)
}

// startWith opens the dialog req names for a turn with no open dialog: at its
// initial state, at req.state, or suspended at once for the child req.call.
func (e *Engine) startWith(ctx context.Context, t *Turn, req *startRequest) error {
	if req.call == nil && req.state == "" {
		return e.startFlow(ctx, t, req.flow, req.draft, 0)
	}
	def := e.flows[req.flow]
	if def == nil {
		return fmt.Errorf("no flow %q", req.flow)
	}
	if !t.Actor.allows(def.Role) {
		return Forbidden()
	}
	version := max(int(t.Now.Unix()-1_700_000_000), 1)
	lv := &live{def: def, sess: &Session{Flow: req.flow, State: req.state, Version: version}}
	if req.draft != nil {
		if err := lv.sess.Save(req.draft); err != nil {
			return err
		}
	}
	lv.row.ChatID, lv.row.UserID, lv.row.Language, lv.row.Version = t.ChatID, t.Actor.UserID, t.L.Lang, version-1
	lv.row.Flow, lv.row.State = req.flow, req.state
	if req.call != nil {
		caller := &frame{Flow: req.flow, State: req.call.resume, Draft: lv.sess.draft}
		if err := e.enterChild(t, lv, req.call, caller); err != nil {
			return err
		}
	} else if def.Steps[req.state] == nil {
		return fmt.Errorf("start %s: no state %q", req.flow, req.state)
	}
	return e.advance(ctx, t, lv, Stay)
}

// startAt asks the engine to open flow at state with draft once this turn's action
// returns.
func (t *Turn) startAt(flow, state string, draft any) {
	t.start = &startRequest{flow: flow, state: state, draft: draft}
}

// startCalling asks the engine to open flow with draft, suspended at once for the
// child call, once this turn's action returns.
func (t *Turn) startCalling(flow string, draft any, call *callRequest) {
	t.start = &startRequest{flow: flow, draft: draft, call: call}
}

// importForCaller imports a list sent at a step of a dialog that takes sub-dialogs'
// results (the campaign wizard) in the upload dialog opened as its child: the dialog
// keeps its choices and gets the list.
func (e *Engine) importForCaller(ctx context.Context, t *Turn, lv *live, f *pendingFile) error {
	lv.sess.call = &callRequest{flow: FlowBatchNew, state: "name", resume: lv.sess.State,
		draft: batchDraft{Name: nameFromFile(f.FileName), File: f}}
	return e.advance(ctx, t, lv, Calling)
}
