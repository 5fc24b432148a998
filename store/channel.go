package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Channel-bot rates: Telegram allows about 30 messages a second per bot, and up to 1000
// with paid broadcasts (0.1 Stars a message).
const (
	ChannelMaxRate     = 30
	ChannelMaxPaidRate = 1000
)

var (
	// ErrChannelExists: the bot is already registered; the error is a
	// *ChannelExistsError naming the channel.
	ErrChannelExists = errors.New("bot already registered")
	// ErrRateInvalid: a rate must be 1..ChannelMaxRate, or 1..ChannelMaxPaidRate with
	// paid broadcasts.
	ErrRateInvalid = errors.New("rate out of range")
)

// ChannelExistsError refuses to register a bot twice.
type ChannelExistsError struct {
	ChannelID int64 // 0 when another admin registered it at the same moment
	Name      string
}

func (e *ChannelExistsError) Error() string {
	return fmt.Sprintf("bot already registered as channel %d (%s)", e.ChannelID, e.Name)
}

func (e *ChannelExistsError) Unwrap() error { return ErrChannelExists }

// TokenSealer encrypts a bot token; *secrets.Box implements it.
type TokenSealer interface {
	Seal(plaintext []byte) []byte
}

// TokenOpener decrypts a bot token; *secrets.Box implements it.
type TokenOpener interface {
	Open(ciphertext []byte) ([]byte, error)
}

// Channel is a bot that delivers campaigns. TokenCiphertext is the sealed token (safe
// to hold, useless without the key); ChannelToken opens it for the code that sends.
type Channel struct {
	ID              int64
	BotUserID       int64 // the bot's own user id (getMe), unique among channels
	Username        string
	Name            string // what admins call it, 1–64 characters
	TokenCiphertext []byte
	RatePerSecond   int
	PaidBroadcast   bool
	Enabled         bool
	VerifiedAt      *time.Time // last successful getMe
	RetryAfterUntil *time.Time // a 429 pause shared by all processes
	CreatedBy       int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Mode is ChannelManaged (Herald receives the bot's updates and keeps its
	// subscribers) or ChannelSendOnly (another app does; Herald only sends).
	Mode string
	// WelcomeTemplateID is the template a managed bot answers /start with; nil means
	// the built-in short text in the user's language.
	WelcomeTemplateID *int64
}

// Channel modes (channels.mode).
const (
	ChannelManaged  = "managed"
	ChannelSendOnly = "send_only"
)

// ErrModeInvalid: a mode is ChannelManaged or ChannelSendOnly.
var ErrModeInvalid = errors.New("channel mode must be managed or send_only")

const channelColumns = `id, bot_user_id, username, name, token_ciphertext, rate_per_second, paid_broadcast,
	enabled, verified_at, retry_after_until, created_by, created_at, updated_at, mode, welcome_template_id`

// ChannelCreateParams register a bot. The caller has checked the token with getMe,
// which gave BotUserID and Username.
type ChannelCreateParams struct {
	BotUserID     int64
	Username      string
	Name          string
	Token         string // sealed before it reaches the database
	RatePerSecond int    // 0 means ChannelMaxRate
	PaidBroadcast bool
	CreatedBy     int64
	VerifiedAt    time.Time // when getMe succeeded; zero for not verified
	Mode          string    // "" means ChannelSendOnly (today's behaviour)
}

// ChannelCreate registers a channel bot, storing only sealer's ciphertext of its token.
// It returns a *ChannelExistsError (ErrChannelExists) for a bot already registered,
// ErrNameInvalid or ErrRateInvalid.
func (s *Store) ChannelCreate(ctx context.Context, sealer TokenSealer, p ChannelCreateParams) (Channel, error) {
	if err := checkName(p.Name); err != nil {
		return Channel{}, err
	}
	if p.RatePerSecond == 0 {
		p.RatePerSecond = ChannelMaxRate
	}
	if err := checkRate(p.RatePerSecond, p.PaidBroadcast); err != nil {
		return Channel{}, err
	}
	if p.Mode == "" {
		p.Mode = ChannelSendOnly
	}
	if p.Mode != ChannelManaged && p.Mode != ChannelSendOnly {
		return Channel{}, ErrModeInvalid
	}
	var verifiedAt *time.Time
	if !p.VerifiedAt.IsZero() {
		verifiedAt = &p.VerifiedAt
	}
	// Look first, so the answer can name the channel (after a failed INSERT a caller's
	// transaction could not run another query); the unique index still decides a race.
	exists := &ChannelExistsError{}
	err := s.db.QueryRow(ctx, `SELECT id, name FROM channels WHERE bot_user_id = $1 AND deleted_at IS NULL`,
		p.BotUserID).Scan(&exists.ChannelID, &exists.Name)
	if err == nil {
		return Channel{}, exists
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Channel{}, fmt.Errorf("create channel: %w", err)
	}
	c, err := scanChannel(s.db.QueryRow(ctx, `
		INSERT INTO channels (bot_user_id, username, name, token_ciphertext, rate_per_second,
			paid_broadcast, created_by, verified_at, mode)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		RETURNING `+channelColumns,
		p.BotUserID, p.Username, p.Name, sealer.Seal([]byte(p.Token)), p.RatePerSecond,
		p.PaidBroadcast, p.CreatedBy, verifiedAt, p.Mode))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "channels_bot_user_id_key" {
		return Channel{}, &ChannelExistsError{} // registered concurrently; ChannelID unknown
	}
	if err != nil {
		return Channel{}, fmt.Errorf("create channel: %w", err)
	}
	return c, nil
}

// ChannelList returns every channel, oldest first.
func (s *Store) ChannelList(ctx context.Context) ([]Channel, error) {
	rows, err := s.db.Query(ctx, `SELECT `+channelColumns+` FROM channels WHERE deleted_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	channels, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Channel, error) { return scanChannel(row) })
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	return channels, nil
}

// ChannelCount is the number of channels, so start-up can insist on a secret key once
// any token needs it.
func (s *Store) ChannelCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM channels WHERE deleted_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count channels: %w", err)
	}
	return n, nil
}

// ChannelToken opens the channel's token with opener: ErrNotFound, or opener's error
// (wrong key, tampered ciphertext), wrapped.
func (s *Store) ChannelToken(ctx context.Context, opener TokenOpener, id int64) (string, error) {
	var sealed []byte
	err := s.db.QueryRow(ctx, `SELECT token_ciphertext FROM channels WHERE id = $1 AND deleted_at IS NULL`, id).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read token of channel %d: %w", id, err)
	}
	token, err := opener.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("open token of channel %d: %w", id, err)
	}
	return string(token), nil
}

// ChannelSetToken replaces the token of a channel (after a revoke in BotFather the bot
// keeps its id but gets a new token; the caller checks with getMe that the new token
// belongs to the same bot).
func (s *Store) ChannelSetToken(ctx context.Context, sealer TokenSealer, id int64, token string) error {
	return s.channelUpdate(ctx, "set token of", id, `token_ciphertext = $2`, sealer.Seal([]byte(token)))
}

// ChannelRename renames a channel: ErrNotFound or ErrNameInvalid.
func (s *Store) ChannelRename(ctx context.Context, id int64, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return s.channelUpdate(ctx, "rename", id, `name = $2`, name)
}

// ChannelSetRate sets the channel's messages per second and whether it uses paid
// broadcasts: ErrNotFound or ErrRateInvalid (1..30, or 1..1000 with paid broadcasts).
func (s *Store) ChannelSetRate(ctx context.Context, id int64, rate int, paid bool) error {
	if err := checkRate(rate, paid); err != nil {
		return err
	}
	return s.channelUpdate(ctx, "set rate of", id, `rate_per_second = $2, paid_broadcast = $3`, rate, paid)
}

// ChannelSetEnabled switches a channel on or off: ErrNotFound.
func (s *Store) ChannelSetEnabled(ctx context.Context, id int64, enabled bool) error {
	return s.channelUpdate(ctx, "enable/disable", id, `enabled = $2`, enabled)
}

// ChannelSetMode switches a channel between ChannelManaged and ChannelSendOnly:
// ErrNotFound or ErrModeInvalid. The intake notices the switch at its next look at the
// channels and starts or stops receiving the bot's updates.
func (s *Store) ChannelSetMode(ctx context.Context, id int64, mode string) error {
	if mode != ChannelManaged && mode != ChannelSendOnly {
		return ErrModeInvalid
	}
	return s.channelUpdate(ctx, "set mode of", id, `mode = $2`, mode)
}

// ChannelSetWelcome sets the template a managed bot answers /start with (nil: the
// built-in text): ErrNotFound for a missing channel or template.
func (s *Store) ChannelSetWelcome(ctx context.Context, id int64, templateID *int64) error {
	err := s.channelUpdate(ctx, "set welcome of", id, `welcome_template_id = $2`, templateID)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // the template is gone
		return ErrNotFound
	}
	return err
}

// ChannelListManaged returns the live channels in managed mode: the bots whose
// updates Herald receives.
func (s *Store) ChannelListManaged(ctx context.Context) ([]Channel, error) {
	rows, err := s.db.Query(ctx, `SELECT `+channelColumns+` FROM channels
		WHERE deleted_at IS NULL AND mode = 'managed' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list managed channels: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Channel, error) { return scanChannel(row) })
	if err != nil {
		return nil, fmt.Errorf("list managed channels: %w", err)
	}
	return list, nil
}

// ChannelMarkVerified records a successful getMe at at, with the username it returned
// (a bot's username can change): ErrNotFound.
func (s *Store) ChannelMarkVerified(ctx context.Context, id int64, username string, at time.Time) error {
	return s.channelUpdate(ctx, "mark verified", id, `verified_at = $2, username = $3`, at, username)
}

// ChannelDelete removes a channel. It returns an *InUseError (ErrInUse) while a
// scheduled, running or paused campaign uses it, and ErrNotFound. A channel that only
// finished campaigns used keeps its row, marked deleted and with its token ciphertext
// wiped, for their history; the bot can be registered again.
func (s *Store) ChannelDelete(ctx context.Context, id int64) error {
	return s.InTx(ctx, func(st *Store) error { return st.channelDelete(ctx, id) })
}

func (s *Store) channelDelete(ctx context.Context, id int64) error {
	tx := s.db
	var referenced bool
	err := tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM campaign_channels WHERE channel_id = c.id)
		FROM channels c WHERE id = $1 AND deleted_at IS NULL
		FOR UPDATE`, id).Scan(&referenced)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete channel %d: %w", id, err)
	}
	if err := refuseActiveCampaigns(ctx, tx, "channel_id", id); err != nil {
		return err
	}
	if referenced {
		_, err = tx.Exec(ctx, `
			WITH gone AS (DELETE FROM channel_media WHERE channel_id = $1)
			UPDATE channels SET deleted_at = now(), token_ciphertext = '', enabled = false, updated_at = now()
			WHERE id = $1`, id)
	} else {
		_, err = tx.Exec(ctx, `DELETE FROM channels WHERE id = $1`, id)
	}
	if err != nil {
		return fmt.Errorf("delete channel %d: %w", id, err)
	}
	return nil
}

// ChannelGet returns a channel (not a deleted one), or ErrNotFound. (The delivery branch
// has a ChannelGet of the same signature; this one, with the superset Channel above, is
// meant to replace it when both are merged.)
func (s *Store) ChannelGet(ctx context.Context, id int64) (Channel, error) {
	c, err := scanChannel(s.db.QueryRow(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = $1 AND deleted_at IS NULL`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Channel{}, ErrNotFound
	}
	if err != nil {
		return Channel{}, fmt.Errorf("get channel %d: %w", id, err)
	}
	return c, nil
}

// channelUpdate sets columns (SQL with $2… for args) on a live channel.
func (s *Store) channelUpdate(ctx context.Context, op string, id int64, set string, args ...any) error {
	tag, err := s.db.Exec(ctx, `UPDATE channels SET `+set+`, updated_at = now() WHERE id = $1 AND deleted_at IS NULL`,
		append([]any{id}, args...)...)
	if err != nil {
		return fmt.Errorf("%s channel %d: %w", op, id, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return s.channelNotify(ctx, id) // the intakes apply it now, not at their next look
}

func checkRate(rate int, paid bool) error {
	if rate < 1 || rate > ChannelMaxPaidRate || (!paid && rate > ChannelMaxRate) {
		return ErrRateInvalid
	}
	return nil
}

func scanChannel(row pgx.Row) (Channel, error) {
	var c Channel
	err := row.Scan(&c.ID, &c.BotUserID, &c.Username, &c.Name, &c.TokenCiphertext, &c.RatePerSecond, &c.PaidBroadcast,
		&c.Enabled, &c.VerifiedAt, &c.RetryAfterUntil, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt, &c.Mode, &c.WelcomeTemplateID)
	return c, err
}
