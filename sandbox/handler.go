package sandbox

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/mymmrac/telego"
	"github.com/rs/zerolog"

	"herald/tgemu"
)

//go:embed assets
var assets embed.FS

// Config is what the web chat shows and whom it speaks as. Everything goes through the
// emulator's user side: the web chat is a Telegram client, not a part of Herald.
type Config struct {
	Emulator   *tgemu.Server
	Management tgemu.Bot              // the management bot
	Admins     map[string]*tgemu.User // the admin the page speaks as, by UI language (en, ru)
	Channels   []Channel
	Recipients []*tgemu.User // whom the right pane can show
	Batch      string        // name of the sample recipient list, mentioned on the page
	Public     bool          // served beyond loopback on purpose (HERALD_SANDBOX_PUBLIC)
	Logger     zerolog.Logger
}

// Channel is a channel bot whose counters the page shows.
type Channel struct {
	Bot      tgemu.Bot
	Name     string
	Rate     int // messages per second Herald was told
	PaidRate bool
}

// Handler serves the web chat: the page, its assets, its JSON actions and its event
// streams.
type Handler struct {
	cfg  Config
	ctx  context.Context // ends every event stream at shutdown
	mux  *http.ServeMux
	page *template.Template
}

// New builds the handler. Event streams end when ctx is done, so an HTTP server's
// graceful shutdown is not held up by open pages.
func New(ctx context.Context, cfg Config) *Handler {
	h := &Handler{cfg: cfg, ctx: ctx, mux: http.NewServeMux()}
	h.page = template.Must(template.ParseFS(assets, "assets/index.html"))
	static, _ := fs.Sub(assets, "assets")
	h.mux.HandleFunc("GET /{$}", h.servePage)
	h.mux.Handle("GET /sandbox/static/", http.StripPrefix("/sandbox/static/", http.FileServerFS(static)))
	h.mux.HandleFunc("GET /sandbox/file/{id}", h.serveFile)
	h.mux.HandleFunc("GET /sandbox/api/recipients", h.serveRecipients)
	h.mux.HandleFunc("GET /sandbox/api/chat/events", h.streamChat)
	h.mux.HandleFunc("GET /sandbox/api/inbox/{id}/events", h.streamInbox)
	h.mux.HandleFunc("GET /sandbox/api/stats/events", h.streamStats)
	h.mux.HandleFunc("POST /sandbox/api/chat/send", h.send)
	h.mux.HandleFunc("POST /sandbox/api/chat/upload", h.upload)
	h.mux.HandleFunc("POST /sandbox/api/chat/press", h.press)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if msg := h.refuse(r); msg != "" {
		writeError(w, http.StatusForbidden, msg)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// refuse keeps other web pages out: whoever uses the web chat acts as Herald's owner.
// A page of another site may not post to it (its Origin differs), and a name that
// resolves to this computer by DNS rebinding is not a loopback name.
func (h *Handler) refuse(r *http.Request) string {
	if origin := r.Header.Get("Origin"); origin != "" && r.Method != http.MethodGet {
		if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
			return "cross-site request refused"
		}
	}
	if h.cfg.Public {
		return ""
	}
	host := r.Host
	if hp, _, err := net.SplitHostPort(r.Host); err == nil {
		host = hp
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "the sandbox answers on a loopback address only (open it as 127.0.0.1 or localhost)"
	}
	return ""
}

// admin is the user the page speaks as: the admin whose Telegram language matches the
// page's, so the bot answers in the language the page is in.
func (h *Handler) admin(r *http.Request) *tgemu.User {
	if u := h.cfg.Admins[pickLanguage(r)]; u != nil {
		return u
	}
	return h.cfg.Admins["en"]
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	lang := pickLanguage(r)
	words, _ := json.Marshal(uiStrings[lang])
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	w.Header().Set("Vary", "Accept-Language")
	err := h.page.Execute(w, map[string]any{
		"Lang": lang, "T": uiStrings[lang], "Words": string(words),
		"Admin": h.admin(r).FirstName, "Bot": h.cfg.Management.Username, "Batch": h.cfg.Batch,
	})
	if err != nil {
		h.cfg.Logger.Warn().Err(err).Msg("sandbox page")
	}
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request) {
	f, ok := h.cfg.Emulator.File(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	ct := f.MIME
	if ct == "" {
		ct = http.DetectContentType(f.Data)
	}
	w.Header().Set("Content-Type", ct)
	if !f.Photo {
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	}
	w.Header().Set("Cache-Control", "private, max-age=3600") // file_ids never change content
	_, _ = w.Write(f.Data)
}

func (h *Handler) serveRecipients(w http.ResponseWriter, _ *http.Request) {
	type recipient struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	out := make([]recipient, len(h.cfg.Recipients))
	for i, u := range h.cfg.Recipients {
		out[i] = recipient{u.ID, strings.TrimSpace(u.FirstName + " " + u.LastName)}
	}
	writeJSON(w, http.StatusOK, out)
}

// entityIn is a formatting entity from the composer; offsets count UTF-16 code units,
// as JavaScript strings do.
type entityIn struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
	URL    string `json:"url,omitempty"`
}

var composerEntities = map[string]bool{"bold": true, "italic": true, "underline": true, "strikethrough": true,
	"code": true, "pre": true, "spoiler": true, "text_link": true}

// cleanEntities keeps the composer's entities that a Telegram client could send: known
// types, inside the text, links with a web address.
func cleanEntities(text string, in []entityIn) []telego.MessageEntity {
	n := len(utf16.Encode([]rune(text)))
	var out []telego.MessageEntity
	for _, e := range in {
		if !composerEntities[e.Type] || e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > n {
			continue
		}
		if e.Type == "text_link" && safeHref("text_link", e.URL) == "" {
			continue
		}
		out = append(out, telego.MessageEntity{Type: e.Type, Offset: e.Offset, Length: e.Length, URL: e.URL})
	}
	return out
}

// commandRe is what a Telegram client turns into a bot command when sent alone.
var commandRe = regexp.MustCompile(`^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?(\s|$)`)

func (h *Handler) send(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Text     string     `json:"text"`
		Entities []entityIn `json:"entities"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON")
		return
	}
	text := strings.TrimRight(in.Text, " \n\t")
	if strings.TrimSpace(text) == "" {
		writeError(w, http.StatusBadRequest, "empty message")
		return
	}
	u, token := h.admin(r), h.cfg.Management.Token
	var err error
	switch {
	case text == "/start":
		_, err = u.Start(token) // also restarts a chat the admin had blocked, as the Start button does
	case commandRe.MatchString(text) && len(in.Entities) == 0:
		_, err = u.SendCommand(token, text)
	default:
		_, err = u.SendText(token, text, cleanEntities(text, in.Entities)...)
	}
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// maxUpload is Telegram's limit for a file a bot may download (getFile).
const maxUpload = 20 << 20

func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	file, header, err := r.FormFile("file")
	if err != nil {
		writeError(w, http.StatusBadRequest, "no file (at most 20 MB)")
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxUpload+1))
	if err != nil || len(data) > maxUpload {
		writeError(w, http.StatusRequestEntityTooLarge, "the file is over 20 MB")
		return
	}
	name := path.Base(header.Filename)
	ct := header.Header.Get("Content-Type")
	if ct == "" || ct == "application/octet-stream" {
		if byExt := mime.TypeByExtension(path.Ext(name)); byExt != "" {
			ct = byExt
		}
	}
	var ents []entityIn
	caption := r.FormValue("caption")
	_ = json.Unmarshal([]byte(r.FormValue("entities")), &ents)
	photo := r.FormValue("as") != "document" && (ct == "image/jpeg" || ct == "image/png" || ct == "image/gif" || ct == "image/webp")
	_, err = h.admin(r).SendMedia(h.cfg.Management.Token, photo, name, ct, data, caption, cleanEntities(caption, ents))
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// press presses an inline button and waits briefly for the bot's answer, which a
// Telegram client shows as a toast (or an alert).
func (h *Handler) press(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MessageID int    `json:"message_id"`
		Data      string `json:"data"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON")
		return
	}
	token := h.cfg.Management.Token
	id, err := h.admin(r).Press(token, in.MessageID, in.Data)
	if err != nil {
		status := http.StatusConflict
		if errors.Is(err, tgemu.ErrNoButton) || errors.Is(err, tgemu.ErrNoMessage) {
			status = http.StatusGone // the keyboard changed under the click
		}
		writeError(w, status, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		if a, ok := h.cfg.Emulator.CallbackAnswerFor(token, id); ok {
			writeJSON(w, http.StatusOK, map[string]any{"text": a.Text, "alert": a.ShowAlert})
			return
		}
		select {
		case <-ctx.Done():
			writeJSON(w, http.StatusOK, map[string]any{"pending": true}) // the bot is slow: the spinner stops
			return
		case <-tick.C:
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func parseID(s string) int64 {
	id, _ := strconv.ParseInt(s, 10, 64)
	return id
}
