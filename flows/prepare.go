package flows

import (
	"context"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"herald/store"
)

// prepared is a dialog input after the checks and the Prepare phase that run before
// the update's transaction.
type prepared struct {
	in  Input
	err error // an *Error to show instead of calling Handle
	// ran: a step's Prepare ran, for the session at version and state; the
	// transaction checks that the dialog is still there.
	ran     bool
	version int
	state   string
}

// close releases what Prepare left in the input (a downloaded file).
func (p *prepared) close() {
	if c, ok := p.in.prepared.(io.Closer); ok {
		_ = c.Close()
	}
}

// anyVersion: a message is input to whatever step is current.
const anyVersion = -1

// prepareInput checks the input's text and runs the current step's Prepare, outside
// any transaction, when the session is at version (a button's; anyVersion for a
// message): a press on an outdated keyboard must not send a test message. A session
// read here is a snapshot: the transaction reads it again under the chat's lock.
func (e *Engine) prepareInput(ctx context.Context, t *Turn, in Input, version int) (*prepared, error) {
	p := &prepared{in: in}
	if err := checkText(in); err != nil {
		p.err = err
		return p, nil
	}
	// Outside a transaction FOR UPDATE holds the row lock for this statement only.
	row, err := t.st.DialogGetForUpdate(ctx, t.ChatID)
	if errors.Is(err, store.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	def := e.flows[row.Flow]
	if def == nil || def.Steps[row.State] == nil || def.Steps[row.State].Prepare == nil ||
		row.UserID != t.Actor.UserID || row.ExpiresAt.Before(t.Now) || (version != anyVersion && version != row.Version) {
		return p, nil
	}
	own, caller := splitDraft(row.Draft)
	sess := &Session{Flow: row.Flow, State: row.State, Version: row.Version, draft: own, caller: caller}
	p.ran, p.version, p.state = true, row.Version, row.State
	p.in, p.err = def.Steps[row.State].Prepare(ctx, t, sess, in)
	if p.err != nil && ErrorCode(p.err) == CodeInternal {
		p.close()
		return nil, p.err
	}
	return p, nil
}

// checkText refuses text PostgreSQL cannot store (U+0000, invalid UTF-8: SQLSTATE
// 22P05/22021) in any part of an input, once for every step, so that no step has to
// remember it and the admin gets a reason instead of an internal error.
func checkText(in Input) error {
	fields := []string{in.Text, in.ContactName, in.ForwardName, in.Action}
	if in.Media != nil {
		fields = append(fields, in.Media.FileName, in.Media.FileID, in.Media.UniqueID)
	}
	for _, s := range fields {
		if !utf8.ValidString(s) {
			return Invalid("input.invalid_utf8", nil)
		}
		if strings.ContainsRune(s, 0) {
			return Invalid("input.nul", nil)
		}
	}
	return nil
}
