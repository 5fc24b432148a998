package bot_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mymmrac/telego"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"herald/bot"
	"herald/i18n"
	"herald/pgtest"
	"herald/render"
	"herald/store"
	"herald/tgemu"
	"herald/tgemu/emutest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// waitFor bounds each wait for the bot: a hang guard, not a speed figure, so it is
// scaled by HERALD_TEST_PATIENCE (default 4) for a 2-core machine running another
// suite beside this one under the race detector.
var waitFor = patient(10 * time.Second)

func patient(d time.Duration) time.Duration {
	f, err := strconv.ParseFloat(os.Getenv("HERALD_TEST_PATIENCE"), 64)
	if err != nil || f <= 0 {
		f = 4
	}
	return time.Duration(float64(d) * f)
}

// testBundle is one emulator, one management bot token, one database and an owner
// who has started the bot.
type testBundle struct {
	srv   *tgemu.Server
	token string
	st    *store.Store
	owner *tgemu.User
	cfg   bot.Config
	ctx   context.Context
	clock *clock

	mu      sync.Mutex
	running []*bot.Bot // started runtimes, for waiting until they are idle
}

type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	return setupWith(t, setupOpts{})
}

// setupOpts vary the bundle.
type setupOpts struct {
	// maxConns bounds the pool of the bot's store (0: pgxpool's default). Mind that
	// the polling bot holds one connection for its lock.
	maxConns int32
}

func setupWith(t *testing.T, o setupOpts) *testBundle {
	t.Helper()
	srv := emutest.Start(t, tgemu.Config{PerChatDisabled: true})
	tb := srv.CreateBot("herald_admin_bot")
	pool := pgtest.NewPool(t)
	if o.maxConns > 0 {
		cfg, err := pgxpool.ParseConfig(pool.Config().ConnString())
		require.NoError(t, err)
		cfg.MaxConns = o.maxConns
		pool, err = pgxpool.NewWithConfig(context.Background(), cfg)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
	}
	st := store.New(pool)
	catalog, err := i18n.New("en")
	require.NoError(t, err)
	owner := srv.CreateUser(tgemu.UserSpec{FirstName: "Olga", LanguageCode: "en"})
	srv.SetStarted(tb.Token, owner) // "has pressed Start" without a /start update
	ctx := context.Background()
	require.NoError(t, st.AdminSyncOwners(ctx, []int64{owner.ID}))
	c := &clock{}
	b := &testBundle{srv: srv, token: tb.Token, st: st, owner: owner, ctx: ctx, clock: c,
		cfg: bot.Config{Token: tb.Token, APIURL: srv.URL(), Store: st, Catalog: catalog,
			Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), DialogTTL: 30 * time.Minute,
			PollTimeout: 2 * time.Second, LockRetry: 100 * time.Millisecond, Now: c.now,
			// Tests read the notices of presses; on a loaded machine a handler can
			// outlast the production budget, which would answer them empty.
			CallbackBudget: 5 * time.Second}}
	return b
}

// start runs a bot runtime until the test ends (or until the returned stop is called).
func (b *testBundle) start(t *testing.T) (stop func()) {
	t.Helper()
	rt, err := bot.New(b.cfg)
	require.NoError(t, err)
	rt.Start(b.ctx)
	b.mu.Lock()
	b.running = append(b.running, rt)
	b.mu.Unlock()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
			defer cancel()
			rt.Stop(ctx)
		})
	}
	t.Cleanup(stop)
	return stop
}

func (b *testBundle) user(t *testing.T, name, lang string) *tgemu.User {
	t.Helper()
	u := b.srv.CreateUser(tgemu.UserSpec{FirstName: name, LanguageCode: lang})
	b.srv.SetStarted(b.token, u)
	return u
}

func (b *testBundle) addAdmin(t *testing.T, u *tgemu.User, role string) {
	t.Helper()
	_, err := b.st.AdminPut(b.ctx, store.Admin{UserID: u.ID, Role: role, DisplayName: u.FirstName})
	require.NoError(t, err)
}

// next is the next new message the bot sent to u.
func (b *testBundle) next(t *testing.T, u *tgemu.User) telego.Message {
	t.Helper()
	m, err := u.WaitBotMessage(b.token, waitFor)
	require.NoError(t, err, "no bot message for %s", u.FirstName)
	return m
}

// nextContainingWithin skips bot messages until one contains substr, waiting up to d
// in all.
func (b *testBundle) nextContainingWithin(t *testing.T, u *tgemu.User, substr string, d time.Duration) telego.Message {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		m, err := u.WaitBotMessage(b.token, time.Until(deadline))
		require.NoError(t, err, "no bot message containing %q for %s", substr, u.FirstName)
		if strings.Contains(m.Text+m.Caption, substr) {
			return m
		}
	}
}

// nextContaining skips bot messages until one contains substr.
func (b *testBundle) nextContaining(t *testing.T, u *tgemu.User, substr string) telego.Message {
	t.Helper()
	for {
		m := b.next(t, u)
		if strings.Contains(m.Text+m.Caption, substr) {
			return m
		}
	}
}

func (b *testBundle) send(t *testing.T, u *tgemu.User, text string, entities ...telego.MessageEntity) {
	t.Helper()
	_, err := u.SendText(b.token, text, entities...)
	require.NoError(t, err)
}

func (b *testBundle) command(t *testing.T, u *tgemu.User, cmd string) {
	t.Helper()
	_, err := u.SendCommand(b.token, cmd)
	require.NoError(t, err)
}

// press presses the button of m whose text contains label and waits for its answer.
func (b *testBundle) press(t *testing.T, u *tgemu.User, m telego.Message, label string) tgemu.CallbackAnswer {
	t.Helper()
	return b.pressData(t, u, m.MessageID, buttonData(t, m, label))
}

func (b *testBundle) pressData(t *testing.T, u *tgemu.User, messageID int, data string) tgemu.CallbackAnswer {
	t.Helper()
	id, err := u.Press(b.token, messageID, data)
	require.NoError(t, err)
	var answer tgemu.CallbackAnswer
	eventually(t, func() bool {
		var ok bool
		answer, ok = b.srv.CallbackAnswerFor(b.token, id)
		return ok
	})
	b.waitIdle(t) // the press is answered first; its replies follow
	return answer
}

// waitIdle waits until every started runtime has handled what it took.
func (b *testBundle) waitIdle(t *testing.T) {
	t.Helper()
	eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, rt := range b.running {
			if !rt.Idle() {
				return false
			}
		}
		return true
	})
}

func buttonData(t *testing.T, m telego.Message, label string) string {
	t.Helper()
	require.NotNil(t, m.ReplyMarkup, "message %q has no keyboard", m.Text)
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			if strings.Contains(btn.Text, label) && btn.CallbackData != "" {
				return btn.CallbackData
			}
		}
	}
	t.Fatalf("no button %q in %q", label, m.Text)
	return ""
}

// current is the latest version of message id in u's chat (after edits).
func (b *testBundle) current(t *testing.T, u *tgemu.User, id int) telego.Message {
	t.Helper()
	for _, e := range b.srv.Transcript(b.token, u.ID) {
		if e.Message.MessageID == id {
			return e.Message
		}
	}
	t.Fatalf("no message %d", id)
	return telego.Message{}
}

// waitEdited waits until message id's text contains substr and returns it.
func (b *testBundle) waitEdited(t *testing.T, u *tgemu.User, id int, substr string) telego.Message {
	t.Helper()
	var m telego.Message
	eventually(t, func() bool {
		m = b.current(t, u, id)
		return strings.Contains(m.Text, substr)
	})
	return m
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// u16 is the UTF-16 length of s, the unit of entity offsets.
func u16(s string) int { return render.UTF16Len(s) }

// entityText is the part of text an entity covers.
func entityText(text string, e telego.MessageEntity) string {
	units := utf16Units(text)
	return string(decodeUTF16(units[e.Offset : e.Offset+e.Length]))
}

func (b *testBundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, sql, args...).Scan(&n))
	return n
}
