package flows

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mymmrac/telego"

	"herald/i18n"
	"herald/store"
)

// Actor is the admin behind an update.
type Actor struct {
	UserID int64
	Role   string // store.RoleOwner, RoleAdmin or RoleViewer
	Name   string
}

// CanChange reports whether the actor may change anything (viewers may not).
func (a Actor) CanChange() bool { return a.Role == store.RoleOwner || a.Role == store.RoleAdmin }

// allows reports whether the actor's role reaches min.
func (a Actor) allows(min string) bool {
	rank := map[string]int{store.RoleViewer: 1, store.RoleAdmin: 2, store.RoleOwner: 3}
	return rank[a.Role] >= rank[min] && rank[min] > 0
}

// Media is a photo, video, document or animation the admin sent.
type Media struct {
	Kind     string `json:"kind"` // photo, video, document, animation
	FileID   string `json:"file_id"`
	UniqueID string `json:"unique_id"`
	// FileName and FileSize describe a document (the batch upload checks the size
	// before downloading); they are not kept in templates.
	FileName string `json:"-"`
	FileSize int64  `json:"-"`
}

// Input is one thing the admin did in a dialog: a message, or a button press
// (Action set, everything else empty).
type Input struct {
	Text          string
	Entities      []telego.MessageEntity // of Text (or of the caption, with Media)
	Media         *Media
	ContactUserID int64 // a shared contact that is a Telegram user
	ContactName   string
	ForwardUserID int64 // a forwarded message whose author allows linking
	ForwardName   string
	ForwardHidden bool           // forwarded from someone who hides their account
	Post          *ForwardedPost // a post forwarded from a channel or group
	MediaGroupID  string         // an album's item (every item comes as a message)
	Action        string
	MessageID     int // the admin's message (0 for a button press)

	prepared any // what the step's Prepare found (a downloaded file, a bot's identity)
}

// Button is an inline button: Data for our callbacks, URL for links, CopyText for
// text to paste.
type Button struct {
	Text string
	Data string
	URL  string
	// CopyText, for a button with neither Data nor URL, is copied to the clipboard.
	CopyText string
}

// Reply is one message the bot sends.
type Reply struct {
	Text     string
	Entities []telego.MessageEntity // used when HTML is false
	HTML     bool
	Media    *Media // Text becomes the caption
	Keyboard [][]Button
	// Edit asks to replace the message whose button was pressed, when there is one
	// and both are plain text (menu navigation), instead of sending a new message.
	Edit bool
}

// Turn is the handling of one update: who acts, in which chat and language, and the
// replies collected for the bot to send once the step is committed.
type Turn struct {
	Actor  Actor
	ChatID int64
	L      *i18n.Localizer
	Now    time.Time

	// st is the store this turn runs on: the pool during Prepare, the update's
	// transaction afterwards. Each flow reaches it through its own narrow interface
	// (stores.go): a plain conversion the compiler checks, never an assertion.
	st       *store.Store
	services *Services
	prepared any // what the screen's Prepare returned
	replies  []Reply
	notice   string
	start    *startRequest
}

type startRequest struct {
	flow  string
	state string // "" for the flow's initial state
	draft any
	call  *callRequest // a child to open at once, flow suspended as its caller (subdialog.go)
}

// NewTurn prepares the handling of one update.
func NewTurn(actor Actor, chatID int64, l *i18n.Localizer, now time.Time) *Turn {
	return &Turn{Actor: actor, ChatID: chatID, L: l, Now: now}
}

// Services are the engine's non-database dependencies.
func (t *Turn) Services() *Services { return t.services }

// Reply queues a message.
func (t *Turn) Reply(r Reply) { t.replies = append(t.replies, r) }

// Say queues a plain HTML text from the catalog.
func (t *Turn) Say(key string, data ...i18n.Data) {
	t.Reply(Reply{Text: t.L.T(key, data...), HTML: true})
}

// Notice sets the short text shown on the button press (answerCallbackQuery).
func (t *Turn) Notice(text string) { t.notice = text }

// Start asks the engine to start flow with draft once this turn's action returns.
func (t *Turn) Start(flow string, draft any) { t.start = &startRequest{flow: flow, draft: draft} }

// Replies are the messages queued so far.
func (t *Turn) Replies() []Reply { return t.replies }

// NoticeText is the text for the callback answer ("" for none).
func (t *Turn) NoticeText() string { return t.notice }

// Audit writes an audit entry in the turn's transaction.
func (t *Turn) Audit(ctx context.Context, action, target string, details map[string]any) error {
	return t.st.AuditAppend(ctx, store.AuditEntry{ActorID: t.Actor.UserID, Action: action, Target: target, Details: details})
}

// Session is the open dialog of a chat as a flow step sees it.
type Session struct {
	Flow    string
	State   string
	Version int // the version the current prompt's buttons carry
	draft   json.RawMessage
	// Sub-dialogs (subdialog.go): the suspended caller, a child to open, and what
	// this dialog made for its caller.
	caller *frame
	call   *callRequest
	result int64
}

// Load decodes the draft into v (a pointer to the flow's draft struct).
func (s *Session) Load(v any) error {
	if len(s.draft) == 0 {
		return nil
	}
	if err := json.Unmarshal(s.draft, v); err != nil {
		return fmt.Errorf("decode %s draft: %w", s.Flow, err)
	}
	return nil
}

// Save replaces the draft with v.
func (s *Session) Save(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s draft: %w", s.Flow, err)
	}
	s.draft = b
	return nil
}

// Button makes a button of the current step: pressing it delivers Input{Action:
// action} to the step's Handle, unless the dialog has moved on meanwhile.
func (s *Session) Button(text, action string) Button {
	return Button{Text: text, Data: FlowCallback(s.Version, action)}
}
