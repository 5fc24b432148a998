package flows

import (
	"context"
	"errors"
	"io"
	"time"

	"herald/store"
)

// Services are what flows use besides the database: small interfaces declared here,
// implemented in package bot (Telegram calls) and in main (River), and filled in by the
// wiring in serve.go through bot.Config. Steps reach them with t.Services(). A nil
// field means the service is not available; the flow that needs it says so to the
// admin instead of failing.
//
// Chat, Channels, Files and Controls talk to the network or commit on their own: they
// are there in a Prepare phase only, and nil inside the update's transaction.
type Services struct {
	// Box seals channel-bot tokens (store.ChannelCreate) and opens them for getMe and
	// test sends. nil when HERALD_SECRET_KEY is unset: channel registration explains
	// that the operator must set it.
	Box TokenBox
	// Channels talks to Telegram as a channel bot.
	Channels ChannelBots
	// Chat acts in the admin's chat outside the reply-after-commit cycle: deleting a
	// message with a token at once, and a progress message during a long import.
	Chat ChatOps
	// Files downloads what the admin uploaded to the management bot.
	Files FileFetcher
	// Campaigns writes a confirmed campaign and enqueues its start, atomically.
	Campaigns CampaignStarter
	// Controls pauses, resumes and cancels campaigns (queue.Controls).
	Controls CampaignControls
	// ManagementBotID is the management bot's own user id (from its getMe), which
	// channel registration refuses as a channel bot. nil: not checked.
	ManagementBotID func() int64
	// ImportProgressEvery is how often a long import's progress message is edited
	// (0: every 2 s).
	ImportProgressEvery time.Duration
}

// TokenBox encrypts channel-bot tokens at rest; *secrets.Box implements it.
type TokenBox interface {
	Seal(plaintext []byte) []byte
	Open(ciphertext []byte) ([]byte, error)
}

// BotIdentity is what getMe says about a channel bot.
type BotIdentity struct {
	ID        int64
	Username  string
	FirstName string
}

// Errors of ChannelBots.
var (
	// ErrTokenRejected: Telegram does not know the token (401 Unauthorized, 404).
	ErrTokenRejected = errors.New("telegram rejected the bot token")
	// ErrNotStarted: the chat has not started the channel bot, or blocked it (403).
	ErrNotStarted = errors.New("the user has not started the bot")
)

// ChannelBots calls the Bot API with a channel bot's token. Implementations never log
// the token.
type ChannelBots interface {
	// Identify calls getMe: ErrTokenRejected for a token Telegram does not accept.
	Identify(ctx context.Context, token string) (BotIdentity, error)
	// SendTest sends r to chatID as the channel bot (media in r are the management
	// bot's file ids and are re-uploaded): ErrNotStarted when Telegram answers 403.
	SendTest(ctx context.Context, token string, chatID int64, r Reply) error
	// WebhookURL calls getWebhookInfo: where the bot's updates go now ("" when no
	// webhook is set and they wait for getUpdates).
	WebhookURL(ctx context.Context, token string) (string, error)
	// DropWebhook calls deleteWebhook, keeping the pending updates, so that Herald's
	// intake can receive them (managed mode taking a bot over from another app).
	DropWebhook(ctx context.Context, token string) error
}

// ChatOps are immediate actions in a chat of the management bot.
type ChatOps interface {
	DeleteMessage(ctx context.Context, chatID int64, messageID int) error
	// SendProgress sends an HTML text and returns its message id; EditProgress
	// replaces it.
	SendProgress(ctx context.Context, chatID int64, html string) (int, error)
	EditProgress(ctx context.Context, chatID int64, messageID int, html string) error
}

// FileFetcher downloads a file the admin sent (getFile, then the file URL). A file
// larger than maxBytes is cut off with an error; the caller checks the announced size
// first (importer.CheckSize).
type FileFetcher interface {
	Fetch(ctx context.Context, fileID string, maxBytes int64) (io.ReadCloser, error)
}

// CampaignStarter creates a confirmed campaign and enqueues its start job in the
// transaction tx is bound to (store.CampaignCreate + River InsertTx), so both happen
// or neither. A RequestKey already used returns the first campaign's id.
// *queue.Starter implements it.
type CampaignStarter interface {
	CreateCampaign(ctx context.Context, tx *store.Store, nc store.NewCampaign) (int64, error)
}

// CampaignControls are the campaign buttons; *queue.Controls implements them. Each
// writes the audit log itself.
type CampaignControls interface {
	Pause(ctx context.Context, campaignID, actorID int64) error
	Resume(ctx context.Context, campaignID, actorID int64) error
	Cancel(ctx context.Context, campaignID, actorID int64) (int64, error)
	ResendUncertain(ctx context.Context, campaignID, actorID int64) (int64, error)
}
