package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"herald/sandbox"
	"herald/tgemu"
)

// The sandbox's simulated people. The emulator lives in memory and numbers users in
// the order they are created, so creating them in the same order gives every run the
// same ids: the batch seeded into the sandbox's database on the first run still names
// the same people after a restart.
const (
	sandboxRecipients = 1000
	sandboxBlocked    = 10 // of the recipients, the last ones blocked both channel bots
	sandboxStopped    = 5  // of the others, the last ones sent /stop to the managed bot
	sandboxBatchName  = "Sample: 1,000 sandbox users"
	// sandboxSource is the /start payload of every fourth recipient of the managed bot
	// (came by t.me/sandbox_promo_bot?start=promo_nov), so the wizard offers "came via".
	sandboxSource = "promo_nov"
)

// sandboxNames mixes English and Russian speakers, so {{first_name}} shows both scripts.
var (
	sandboxNames = []struct{ first, lang string }{{"Anna", "en"}, {"Борис", "ru"}, {"Chloe", "en"}, {"Дмитрий", "ru"},
		{"Emma", "en"}, {"Фёдор", "ru"}, {"Grace", "en"}, {"Ирина", "ru"}, {"Jack", "en"}, {"Катя", "ru"}, {"Liam", "en"},
		{"Мария", "ru"}, {"Noah", "en"}, {"Ольга", "ru"}, {"Peter", "en"}, {"Светлана", "ru"}, {"Sophie", "en"},
		{"Татьяна", "ru"}, {"William", "en"}, {"Вера", "ru"}}
	sandboxLastNames = []string{"", "Smith", "Иванова", "Brown", "Петров", "Garcia", "Соколова", "Wilson", "Кузнецов", "Taylor"}
)

type sandboxWorld struct {
	emu        *tgemu.Server
	mgmt       tgemu.Bot
	channels   []tgemu.Bot
	admins     map[string]*tgemu.User // the page's admin by UI language
	setup      []*tgemu.User          // owners who seed through the dialogs, out of the visitor's chat
	recipients []*tgemu.User
}

// populateSandbox creates the simulated people. Sandbox News (send-only) has them as
// users already; Sandbox Promo is a managed bot: on the first run they start it for
// real once Herald polls it (seed), so its subscribers come from its own updates;
// after a restart (seeded) Herald has them already and they are marked started
// without updates.
func populateSandbox(emu *tgemu.Server, seeded bool) *sandboxWorld {
	bots := emu.Bots() // ordered by id: management, news, promo
	w := &sandboxWorld{emu: emu, mgmt: bots[0], channels: bots[1:3], admins: map[string]*tgemu.User{}}
	w.admins["en"] = emu.CreateUser(tgemu.UserSpec{FirstName: "Alex", LastName: "Admin", Username: "sandbox_owner", LanguageCode: "en"})
	w.admins["ru"] = emu.CreateUser(tgemu.UserSpec{FirstName: "Саша", LastName: "Админ", Username: "sandbox_owner_ru", LanguageCode: "ru"})
	// One set-up owner per dialog: each has a chat of its own, so Telegram's limit of
	// about one message a second per chat does not make the dialogs wait for each other.
	for _, what := range []string{"News bot", "Promo bot", "sample batch"} {
		w.setup = append(w.setup, emu.CreateUser(tgemu.UserSpec{FirstName: "Set-up", LastName: what, LanguageCode: "en"}))
	}
	emu.SetStarted(w.mgmt.Token, append([]*tgemu.User{w.admins["en"], w.admins["ru"]}, w.setup...)...)
	for i := range sandboxRecipients {
		n := sandboxNames[i%len(sandboxNames)]
		last := sandboxLastNames[(i/len(sandboxNames))%len(sandboxLastNames)]
		w.recipients = append(w.recipients, emu.CreateUser(tgemu.UserSpec{FirstName: n.first, LastName: last, LanguageCode: n.lang}))
	}
	for i, c := range w.channels {
		if i == 1 && !seeded {
			continue // the managed bot: startPromo, after Herald polls it
		}
		emu.SetStarted(c.Token, w.recipients...)
		for _, u := range w.recipients[sandboxRecipients-sandboxBlocked:] {
			u.Block(c.Token)
		}
	}
	return w
}

// startPromo has the recipients start the managed bot Sandbox Promo once Herald polls
// it, as people following a link would: every fourth from the promo link, the last
// ones block it afterwards, a few send /stop. Herald records them from the updates
// (and answers each /start with its welcome text) as it would for a real bot.
func (w *sandboxWorld) startPromo(ctx context.Context) error {
	promo := w.channels[1].Token
	if err := w.waitFor(ctx, "Sandbox Promo is not polled", func() bool { return w.emu.Polling(promo) }); err != nil {
		return err
	}
	for i, u := range w.recipients {
		payload := ""
		if i%4 == 0 {
			payload = sandboxSource
		}
		if _, err := u.StartWithPayload(promo, payload); err != nil {
			return fmt.Errorf("recipient %d starts Sandbox Promo: %w", u.ID, err)
		}
	}
	for _, u := range w.recipients[sandboxRecipients-sandboxBlocked:] {
		u.Block(promo)
	}
	for _, u := range w.recipients[sandboxRecipients-sandboxBlocked-sandboxStopped : sandboxRecipients-sandboxBlocked] {
		if _, err := u.SendCommand(promo, "/stop"); err != nil {
			return fmt.Errorf("recipient %d stops Sandbox Promo: %w", u.ID, err)
		}
	}
	return w.waitFor(ctx, "Sandbox Promo's updates were not taken", func() bool { return w.emu.PendingUpdates(promo) == 0 })
}

func (w *sandboxWorld) webChat(logger zerolog.Logger) sandbox.Config {
	return sandbox.Config{
		Emulator: w.emu, Management: w.mgmt, Admins: w.admins, Recipients: w.recipients, Batch: sandboxBatchName,
		Channels: []sandbox.Channel{
			{Bot: w.channels[0], Name: "Sandbox News", Rate: 30},
			{Bot: w.channels[1], Name: "Sandbox Promo", Rate: 1000, PaidRate: true},
		},
		Logger: logger,
	}
}

// waitPolling waits until Herald's management bot takes updates.
func (w *sandboxWorld) waitPolling(ctx context.Context) error {
	return w.waitFor(ctx, "the management bot did not start polling", func() bool { return w.emu.Polling(w.mgmt.Token) })
}

// waitFor waits up to a minute until cond holds.
func (w *sandboxWorld) waitFor(ctx context.Context, failure string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return errors.New(failure)
		case <-tick.C:
		}
	}
	return nil
}

// seed registers the two channel bots (News send-only, Promo managed) and uploads the
// sample batch by talking to the management bot as the set-up owners: the same
// dialogs, checks and audit log as for a person, and nothing the visitor's chat has to
// show. Then the recipients start Promo (startPromo).
func (w *sandboxWorld) seed(ctx context.Context) error {
	if err := w.waitPolling(ctx); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range w.channels {
		d := &sandboxDialog{ctx: gctx, u: w.setup[i], token: w.mgmt.Token}
		g.Go(func() error {
			d.command("/newchannel")
			d.expect("Send the bot's token")
			d.say(c.Token)
			// A set-up cut short (the process stopped) may have registered it already.
			if d.expect("Token verified", "is already registered") == 1 {
				d.command("/cancel")
				return d.err
			}
			// News sends to the sample list; Promo keeps its own subscribers.
			d.press([]string{"Send-only", "Managed"}[i])
			d.expect("how should Herald call")
			d.say([]string{"Sandbox News", "Sandbox Promo"}[i])
			d.expect("messages per second")
			d.say([]string{"30", "1000"}[i])
			d.expect("@" + c.Username)
			return d.err
		})
	}
	g.Go(func() error {
		d := &sandboxDialog{ctx: gctx, u: w.setup[2], token: w.mgmt.Token}
		d.command("/newbatch")
		d.expect("step 1 of 2")
		d.say(sandboxBatchName)
		if d.expect("2 of 2", "already exists") == 1 { // uploaded by a set-up cut short
			d.command("/cancel")
			return d.err
		}
		var csv strings.Builder
		csv.WriteString("chat_id,first_name,last_name\n")
		for _, u := range w.recipients {
			fmt.Fprintf(&csv, "%d,%s,%s\n", u.ID, u.FirstName, u.LastName)
		}
		if d.err == nil {
			_, d.err = d.u.SendDocument(w.mgmt.Token, "sandbox-users.csv", "text/csv", []byte(csv.String()), "")
		}
		d.expect("is ready")
		return d.err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	return w.startPromo(ctx)
}

// sandboxDialog is one side of a conversation with the management bot; the first
// error stops it.
type sandboxDialog struct {
	ctx   context.Context
	u     *tgemu.User
	token string
	err   error
	last  telego.Message // the message expect found
}

func (d *sandboxDialog) command(cmd string) {
	if d.err == nil {
		_, d.err = d.u.SendCommand(d.token, cmd)
	}
}

func (d *sandboxDialog) say(text string) {
	if d.err == nil {
		_, d.err = d.u.SendText(d.token, text)
	}
}

// press presses the button whose text contains label on the message expect found last.
func (d *sandboxDialog) press(label string) {
	if d.err != nil {
		return
	}
	if d.last.ReplyMarkup != nil {
		for _, row := range d.last.ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				if strings.Contains(b.Text, label) && b.CallbackData != "" {
					_, d.err = d.u.Press(d.token, d.last.MessageID, b.CallbackData)
					return
				}
			}
		}
	}
	d.err = fmt.Errorf("no button %q in %q", label, d.last.Text)
}

// expect skips the bot's messages until one contains one of substrs, and returns
// which.
func (d *sandboxDialog) expect(substrs ...string) int {
	if d.err != nil {
		return -1
	}
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	for {
		m, err := d.u.WaitBotMessageCtx(ctx, d.token)
		if err != nil {
			d.err = fmt.Errorf("the management bot did not answer %q: %w", substrs[0], err)
			return -1
		}
		for i, s := range substrs {
			if strings.Contains(m.Text+m.Caption, s) {
				d.last = m
				return i
			}
		}
	}
}
