package tgemu

import (
	"encoding/json"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/mymmrac/telego"
)

type handler func(b *bot, r *http.Request, p *params) (any, *apiError)

// handlers is keyed by lower-case method name: Telegram ignores case.
var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"getme":          func(b *bot, _ *http.Request, _ *params) (any, *apiError) { return b.getMe(), nil },
		"getupdates":     func(b *bot, r *http.Request, p *params) (any, *apiError) { return b.getUpdates(r.Context(), p) },
		"setwebhook":     func(b *bot, _ *http.Request, p *params) (any, *apiError) { return b.setWebhook(p) },
		"deletewebhook":  func(b *bot, _ *http.Request, p *params) (any, *apiError) { return b.deleteWebhook(p) },
		"getwebhookinfo": func(b *bot, _ *http.Request, _ *params) (any, *apiError) { return b.getWebhookInfo() },
		"sendmessage":    (*bot).sendMessage,
		"sendphoto":      func(b *bot, _ *http.Request, p *params) (any, *apiError) { return b.sendMedia(p, kindPhoto, p.Photo) },
		"senddocument": func(b *bot, _ *http.Request, p *params) (any, *apiError) {
			return b.sendMedia(p, kindDocument, p.Document)
		},
		"sendvideo": func(b *bot, _ *http.Request, p *params) (any, *apiError) { return b.sendMedia(p, kindVideo, p.Video) },
		"sendanimation": func(b *bot, _ *http.Request, p *params) (any, *apiError) {
			return b.sendMedia(p, kindAnimation, p.Animation)
		},
		"copymessage":            (*bot).copyMessage,
		"editmessagetext":        func(b *bot, _ *http.Request, p *params) (any, *apiError) { return b.edit(p, editText) },
		"editmessagecaption":     func(b *bot, _ *http.Request, p *params) (any, *apiError) { return b.edit(p, editCaption) },
		"editmessagereplymarkup": func(b *bot, _ *http.Request, p *params) (any, *apiError) { return b.edit(p, editMarkup) },
		"deletemessage":          (*bot).deleteMessage,
		"pinchatmessage":         (*bot).pinChatMessage,
		"unpinchatmessage":       (*bot).unpinChatMessage,
		"answercallbackquery":    (*bot).answerCallbackQuery,
		"getfile":                (*bot).getFile,
		"setmycommands":          (*bot).setMyCommands,
		"getmycommands":          (*bot).getMyCommands,
		"getchat":                (*bot).getChat,
	}
}

// Telegram's limits, counted in UTF-16 code units (see package docs).
const (
	maxTextLen    = 4096
	maxCaptionLen = 1024
	maxButtonData = 64
	maxGetFile    = 20 << 20
)

func (b *bot) getMe() telego.User {
	u := b.tgUser()
	u.CanJoinGroups = true
	return u
}

func (b *bot) sendMessage(_ *http.Request, p *params) (any, *apiError) {
	if p.Text == "" {
		return nil, badRequest("message text is empty")
	}
	text, ents, aerr := formatText(p.Text, p.ParseMode, p.Entities)
	if aerr != nil {
		return nil, aerr
	}
	if text == "" {
		return nil, badRequest("message text is empty")
	}
	if utf16Len(text) > maxTextLen {
		return nil, badRequest("message is too long")
	}
	markup, aerr := parseMarkup(p.ReplyMarkup)
	if aerr != nil {
		return nil, aerr
	}
	return b.send(p.ChatID, p.AllowPaidBroadcast, &msg{text: text, entities: ents, markup: markup})
}

func formatCaption(p *params) (string, []telego.MessageEntity, *apiError) {
	if p.Caption == nil || *p.Caption == "" {
		return "", nil, nil
	}
	text, ents, aerr := formatText(*p.Caption, p.ParseMode, p.CaptionEntities)
	if aerr != nil {
		return "", nil, aerr
	}
	if utf16Len(text) > maxCaptionLen {
		return "", nil, badRequest("message caption is too long")
	}
	return text, ents, nil
}

func (b *bot) sendMedia(p *params, kind uint8, ref string) (any, *apiError) {
	caption, ents, aerr := formatCaption(p)
	if aerr != nil {
		return nil, aerr
	}
	markup, aerr := parseMarkup(p.ReplyMarkup)
	if aerr != nil {
		return nil, aerr
	}
	md, aerr := b.inputFile(p, kind, ref)
	if aerr != nil {
		return nil, aerr
	}
	return b.send(p.ChatID, p.AllowPaidBroadcast, &msg{text: caption, entities: ents, markup: markup, media: md})
}

// target resolves a chat_id for a bot, distinguishing Telegram's "never
// heard of it" from "exists but you may not write there".
func (b *bot) target(ref chatRef) (*chat, *apiError) {
	s := b.srv
	switch {
	case ref.Username != "":
		s.groupsMu.RLock()
		defer s.groupsMu.RUnlock()
		for _, g := range s.groups {
			if g.username != "" && "@"+g.username == ref.Username {
				return g, nil
			}
		}
		return nil, badRequest("chat not found")
	case ref.ID > 0:
		if c := b.privateChat(ref.ID, false); c != nil {
			return c, nil
		}
		u := s.user(ref.ID)
		if u == nil {
			return nil, badRequest("chat not found")
		}
		if u.deactivated.Load() {
			return nil, forbidden("user is deactivated")
		}
		return nil, forbidden("bot can't initiate conversation with a user")
	case ref.ID < 0:
		if g := s.group(ref.ID); g != nil {
			return g, nil
		}
	}
	return nil, badRequest("chat not found")
}

// canPost applies membership rules. Caller holds c.mu.
func (b *bot) canPost(c *chat) *apiError {
	if c.typ == ChatPrivate {
		switch {
		case c.user.deactivated.Load():
			return forbidden("user is deactivated")
		case c.status == statusKicked:
			return forbidden("bot was blocked by the user")
		case c.status == statusNone:
			return forbidden("bot can't initiate conversation with a user")
		}
		return nil
	}
	gb := c.groupBots[b.id]
	switch {
	case gb == nil && c.typ == ChatChannel:
		return forbidden("bot is not a member of the channel chat")
	case gb == nil && c.typ == ChatSupergroup:
		return forbidden("bot is not a member of the supergroup chat")
	case gb == nil:
		return forbidden("bot is not a member of the group chat")
	case c.typ == ChatChannel && !gb.canPost:
		return badRequest("need administrator rights in the channel chat")
	}
	return nil
}

// send is the hot path shared by every method that counts toward flood
// control. Only the chat's lock and the bot's limiter lock are taken.
func (b *bot) send(ref chatRef, paid bool, m *msg) (any, *apiError) {
	c, aerr := b.target(ref)
	if aerr != nil {
		return nil, aerr
	}
	cfg := &b.srv.cfg
	c.mu.Lock()
	defer c.mu.Unlock()
	if aerr := b.canPost(c); aerr != nil {
		return nil, aerr
	}
	now := b.srv.since(time.Now())
	var gb *groupBot
	if !cfg.PerChatDisabled {
		if c.typ == ChatPrivate {
			interval := float64(cfg.PerChatInterval)
			c.tokens = min(float64(cfg.PerChatBurst), c.tokens+float64(now-c.tokensAt)/interval)
			c.tokensAt = now
			if c.tokens < 1 {
				wait := (1 - c.tokens) * interval
				return nil, tooMany(max(1, int(math.Ceil(wait/float64(time.Second)))))
			}
		} else {
			gb = c.groupBots[b.id]
			minute := int64(time.Minute)
			i := 0
			for i < len(gb.window) && gb.window[i] <= now-minute {
				i++
			}
			gb.window = gb.window[i:]
			if len(gb.window) >= cfg.GroupPerMinute {
				wait := gb.window[len(gb.window)-cfg.GroupPerMinute] + minute - now
				return nil, tooMany(max(1, int((wait+second-1)/second)))
			}
		}
	}
	b.lim.mu.Lock()
	// Read the clock under the limiter lock so the window stays ordered.
	at := b.srv.since(time.Now())
	ok, retry := b.lim.check(at, paid)
	if !ok {
		b.lim.mu.Unlock()
		return nil, tooMany(retry)
	}
	b.lim.accept(at)
	b.lim.mu.Unlock()

	if !cfg.PerChatDisabled {
		if c.typ == ChatPrivate {
			c.tokens--
		} else {
			gb.window = append(gb.window, now)
		}
	}
	if c.typ == ChatPrivate {
		c.botSent++
	} else {
		c.groupBots[b.id].sent++
	}
	if m.media != nil && m.media.fresh {
		b.srv.registerFile(m.media.f)
		m.media.fresh = false
	}
	m.date = b.srv.dateOf(at)
	m.bot = b
	c.add(m)
	c.wake()
	return c.render(m), nil
}

func (b *bot) copyMessage(_ *http.Request, p *params) (any, *apiError) {
	src, aerr := b.target(p.FromChatID)
	if aerr != nil {
		return nil, aerr
	}
	src.mu.Lock()
	orig := src.get(p.MessageID)
	var m msg
	if orig != nil {
		m = msg{text: orig.text, entities: orig.entities, media: orig.media, contact: orig.contact, markup: orig.markup}
	}
	src.mu.Unlock()
	if orig == nil {
		return nil, badRequest("message to copy not found")
	}
	if p.Caption != nil && m.media != nil {
		text, ents, aerr := formatCaption(p)
		if aerr != nil {
			return nil, aerr
		}
		m.text, m.entities = text, ents
	}
	if p.ReplyMarkup != nil {
		markup, aerr := parseMarkup(p.ReplyMarkup)
		if aerr != nil {
			return nil, aerr
		}
		m.markup = markup
	}
	res, aerr := b.send(p.ChatID, p.AllowPaidBroadcast, &m)
	if aerr != nil {
		return nil, aerr
	}
	return telego.MessageID{MessageID: res.(telego.Message).MessageID}, nil
}

func entitiesEqual(a, b []telego.MessageEntity) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func markupEqual(a, b *telego.InlineKeyboardMarkup) bool {
	if a == nil || b == nil {
		return a == b
	}
	return reflect.DeepEqual(a, b)
}

func (b *bot) getChat(_ *http.Request, p *params) (any, *apiError) {
	c, aerr := b.target(p.ChatID)
	if aerr != nil {
		return nil, aerr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tc := c.tgChat()
	info := telego.ChatFullInfo{
		ID: tc.ID, Type: tc.Type, Title: tc.Title, Username: tc.Username,
		FirstName: tc.FirstName, LastName: tc.LastName, MaxReactionCount: 11,
		AcceptedGiftTypes: telego.AcceptedGiftTypes{UnlimitedGifts: true, LimitedGifts: true, UniqueGifts: true},
	}
	if pm := c.lastPinned(); pm != nil {
		rm := c.render(pm)
		info.PinnedMessage = &rm
	}
	return info, nil
}

func (b *bot) setMyCommands(_ *http.Request, p *params) (any, *apiError) {
	for _, cmd := range p.Commands {
		if !commandRE.MatchString(cmd.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
		if cmd.Description == "" || len([]rune(cmd.Description)) > 256 {
			return nil, badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	if len(p.Commands) > 100 {
		return nil, badRequest("BOT_COMMANDS_TOO_MUCH")
	}
	b.miscMu.Lock()
	b.commands[string(p.Scope)+"|"+p.LanguageCode] = slices.Clone(p.Commands)
	b.miscMu.Unlock()
	return true, nil
}

func (b *bot) getMyCommands(_ *http.Request, p *params) (any, *apiError) {
	b.miscMu.Lock()
	defer b.miscMu.Unlock()
	cmds := b.commands[string(p.Scope)+"|"+p.LanguageCode]
	if cmds == nil {
		cmds = []telego.BotCommand{}
	}
	return cmds, nil
}

// Commands returns what the bot last set with setMyCommands for the
// default scope and language.
func (s *Server) Commands(token string) []telego.BotCommand {
	b := s.mustBot(token)
	b.miscMu.Lock()
	defer b.miscMu.Unlock()
	return slices.Clone(b.commands["|"])
}

// parseMarkup validates reply_markup. Only inline keyboards are kept on
// the message (Telegram never returns the others).
func parseMarkup(raw json.RawMessage) (*telego.InlineKeyboardMarkup, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' { // a JSON-serialised string, as form posts carry it
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest("can't parse reply keyboard markup JSON object")
		}
		raw = json.RawMessage(s)
	}
	var mk struct {
		InlineKeyboard *[][]telego.InlineKeyboardButton `json:"inline_keyboard"`
	}
	if err := json.Unmarshal(raw, &mk); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	if mk.InlineKeyboard == nil {
		return nil, nil
	}
	for _, row := range *mk.InlineKeyboard {
		for _, btn := range row {
			if len(btn.CallbackData) > maxButtonData {
				return nil, badRequest("BUTTON_DATA_INVALID")
			}
			if btn.Text == "" {
				return nil, badRequest("text buttons are unallowed in the inline keyboard")
			}
		}
	}
	return &telego.InlineKeyboardMarkup{InlineKeyboard: *mk.InlineKeyboard}, nil
}

// callbackRecord remembers a pressed button until the bot answers it.
type callbackRecord struct {
	id        string
	pressedAt time.Time
	answered  bool
	answer    CallbackAnswer
}

// CallbackAnswer is what the bot said in answerCallbackQuery.
type CallbackAnswer struct {
	Text      string
	ShowAlert bool
	URL       string
	// PressedAt and AnsweredAt are when the button was pressed and when the
	// bot's answer arrived (the real Telegram lets a query expire after ~15 s).
	PressedAt, AnsweredAt time.Time
}

func (b *bot) answerCallbackQuery(_ *http.Request, p *params) (any, *apiError) {
	b.cbMu.Lock()
	defer b.cbMu.Unlock()
	cb := b.callbacks[p.CallbackQueryID]
	if cb == nil || cb.answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	cb.answered = true
	cb.answer = CallbackAnswer{Text: p.Text, ShowAlert: p.ShowAlert, URL: p.URL,
		PressedAt: cb.pressedAt, AnsweredAt: time.Now()}
	return true, nil
}

// UnansweredCallbacks lists the callback query ids the bot has not
// answered yet, oldest first.
func (s *Server) UnansweredCallbacks(token string) []string {
	b := s.mustBot(token)
	b.cbMu.Lock()
	defer b.cbMu.Unlock()
	var out []string
	for id, cb := range b.callbacks {
		if !cb.answered {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	return out
}

// CallbackAnswerFor returns the bot's answer to a callback query.
func (s *Server) CallbackAnswerFor(token, queryID string) (CallbackAnswer, bool) {
	b := s.mustBot(token)
	b.cbMu.Lock()
	defer b.cbMu.Unlock()
	cb := b.callbacks[queryID]
	if cb == nil || !cb.answered {
		return CallbackAnswer{}, false
	}
	return cb.answer, true
}
