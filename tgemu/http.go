package tgemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mymmrac/telego"
)

// apiError is a Telegram error answer; code doubles as the HTTP status.
type apiError struct {
	code       int
	desc       string
	retryAfter int
}

func badRequest(what string) *apiError { return &apiError{400, "Bad Request: " + what, 0} }
func forbidden(what string) *apiError  { return &apiError{403, "Forbidden: " + what, 0} }
func tooMany(secs int) *apiError {
	return &apiError{429, "Too Many Requests: retry after " + strconv.Itoa(secs), secs}
}

var (
	errUnauthorized = &apiError{401, "Unauthorized", 0}
	errNotFound     = &apiError{404, "Not Found", 0}
	errTooLarge     = &apiError{413, "Request Entity Too Large", 0}
	// errGone means the client went away or the server is closing: write nothing useful.
	errGone = &apiError{500, "Internal Server Error", 0}
)

// rawJSON is a result that is already encoded.
type rawJSON []byte

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func writeOK(w http.ResponseWriter, result any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	buf.WriteString(`{"ok":true,"result":`)
	switch v := result.(type) {
	case rawJSON:
		buf.Write(v)
	case bool:
		buf.WriteString(strconv.FormatBool(v))
	default:
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			writeError(w, &apiError{500, "Internal Server Error", 0})
			return
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	buf.WriteByte('}')
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

type errorBody struct {
	OK          bool        `json:"ok"`
	ErrorCode   int         `json:"error_code"`
	Description string      `json:"description"`
	Parameters  *respParams `json:"parameters,omitempty"`
}

type respParams struct {
	RetryAfter int `json:"retry_after,omitempty"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := errorBody{ErrorCode: e.code, Description: e.desc}
	if e.retryAfter > 0 {
		body.Parameters = &respParams{RetryAfter: e.retryAfter}
	}
	out, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(e.code)
	_, _ = w.Write(out)
}

func discard(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
}

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// chatRef is a chat_id: an integer, or a string holding an integer or an
// @username.
type chatRef struct {
	ID       int64
	Username string
	set      bool
}

func (c *chatRef) UnmarshalJSON(b []byte) error {
	c.set = true
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			c.ID = id
			return nil
		}
		c.Username = s
		return nil
	}
	return json.Unmarshal(b, &c.ID)
}

// params is the union of every parameter of the supported methods. JSON
// bodies decode straight into it; form and multipart bodies are first
// turned into the same JSON, so there is one validation path.
type params struct {
	ChatID              chatRef                `json:"chat_id"`
	FromChatID          chatRef                `json:"from_chat_id"`
	MessageID           int                    `json:"message_id"`
	InlineMessageID     string                 `json:"inline_message_id"`
	Text                string                 `json:"text"`
	ParseMode           string                 `json:"parse_mode"`
	Entities            []telego.MessageEntity `json:"entities"`
	Caption             *string                `json:"caption"`
	CaptionEntities     []telego.MessageEntity `json:"caption_entities"`
	ReplyMarkup         json.RawMessage        `json:"reply_markup"`
	Photo               string                 `json:"photo"`
	Document            string                 `json:"document"`
	Video               string                 `json:"video"`
	Animation           string                 `json:"animation"`
	Duration            int                    `json:"duration"`
	Width               int                    `json:"width"`
	Height              int                    `json:"height"`
	AllowPaidBroadcast  bool                   `json:"allow_paid_broadcast"`
	DisableNotification bool                   `json:"disable_notification"`
	Offset              int64                  `json:"offset"`
	Limit               int                    `json:"limit"`
	Timeout             int                    `json:"timeout"`
	AllowedUpdates      []string               `json:"allowed_updates"`
	URL                 string                 `json:"url"`
	SecretToken         string                 `json:"secret_token"`
	DropPendingUpdates  bool                   `json:"drop_pending_updates"`
	MaxConnections      int                    `json:"max_connections"`
	CallbackQueryID     string                 `json:"callback_query_id"`
	ShowAlert           bool                   `json:"show_alert"`
	CacheTime           int                    `json:"cache_time"`
	FileID              string                 `json:"file_id"`
	Commands            []telego.BotCommand    `json:"commands"`
	Scope               json.RawMessage        `json:"scope"`
	LanguageCode        string                 `json:"language_code"`

	files map[string]*upload // multipart file parts by field name
}

type upload struct {
	name string
	mime string
	data []byte
}

// stringParams are the fields whose form values are always strings; other
// form values are JSON (numbers, booleans, objects) when they parse as such.
var stringParams = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[params]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			continue
		}
		k := f.Type.Kind()
		m[name] = k == reflect.String || (k == reflect.Pointer && f.Type.Elem().Kind() == reflect.String)
	}
	return m
}()

func formToJSON(vals url.Values) []byte {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	for k, vs := range vals {
		if len(vs) == 0 {
			continue
		}
		v := vs[0]
		if !first {
			buf.WriteByte(',')
		}
		first = false
		kq, _ := json.Marshal(k)
		buf.Write(kq)
		buf.WriteByte(':')
		if !stringParams[k] && v != "" && json.Valid([]byte(v)) && strings.TrimSpace(v) == v {
			buf.WriteString(v)
		} else {
			vq, _ := json.Marshal(v)
			buf.Write(vq)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// Telegram accepts uploads of up to 50 MB from bots.
const maxUpload = 50 << 20

func parseParams(r *http.Request) (*params, *apiError) {
	p := &params{}
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var body []byte
	switch {
	case ct == "multipart/form-data":
		vals := url.Values{}
		p.files = map[string]*upload{}
		mr := multipart.NewReader(io.LimitReader(r.Body, maxUpload+1<<20), ctParams["boundary"])
		total := 0
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, badRequest("invalid multipart body")
			}
			data, err := io.ReadAll(io.LimitReader(part, maxUpload+1))
			if err != nil {
				return nil, badRequest("invalid multipart body")
			}
			total += len(data)
			if total > maxUpload {
				return nil, errTooLarge
			}
			if part.FileName() != "" {
				p.files[part.FormName()] = &upload{name: part.FileName(), mime: part.Header.Get("Content-Type"), data: data}
			} else {
				vals.Set(part.FormName(), string(data))
			}
		}
		for k, v := range r.URL.Query() {
			if !vals.Has(k) {
				vals[k] = v
			}
		}
		body = formToJSON(vals)
	case ct == "application/x-www-form-urlencoded" || (ct == "" && r.Method == http.MethodGet):
		if err := r.ParseForm(); err != nil {
			return nil, badRequest("invalid form body")
		}
		body = formToJSON(r.Form)
	default: // JSON, which is what telego sends without files
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxUpload))
		if err != nil {
			return nil, errGone
		}
		if len(r.URL.RawQuery) > 0 && len(bytes.TrimSpace(body)) == 0 {
			body = formToJSON(r.URL.Query())
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(body, p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, badRequest("invalid " + te.Field + " specified")
		}
		return nil, badRequest("invalid request body")
	}
	return p, nil
}

// Faults are injected into a bot's Bot API requests (not the user side).
type Faults struct {
	Latency time.Duration // added to every request
	Jitter  time.Duration // plus a uniform random 0..Jitter
	// ServerErrorRate is the share of requests answered 500 or 502 without
	// being processed.
	ServerErrorRate float64
	// StallRate is the share of requests held for StallFor before being
	// processed (StallFor 0: until the client gives up).
	StallRate float64
	StallFor  time.Duration
	// DropRate is the share of requests whose connection is closed without
	// an answer and without processing.
	DropRate float64
	// LostResponseRate is the share of requests that are processed but whose
	// connection is closed before the answer: the send happened, the client
	// cannot know (the case that makes retries produce duplicates).
	LostResponseRate float64
	// Methods answers requests of the named methods (lower case, e.g.
	// "sendmessage") with an error instead of processing them.
	Methods map[string]MethodFault
	// IgnorePollTimeout makes getUpdates answer at once, as some third-party
	// Bot API servers do, whatever timeout the client asks for.
	IgnorePollTimeout bool
	// GatewayRate is the share of requests answered 502 or 504 with a proxy's HTML
	// page: half of them without being processed, half after being processed (the
	// message was delivered, the gateway gave up on the answer).
	GatewayRate float64
}

// SetFaults replaces the bot's fault injection (zero Faults: none) and
// restarts the count of MethodFault.Times.
func (s *Server) SetFaults(token string, f Faults) {
	b := s.mustBot(token)
	b.methodFaults.reset()
	b.faults.Store(&f)
}

func dropConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// sleep waits d unless the request or the server ends first.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) serveBot(w http.ResponseWriter, r *http.Request, rest string) {
	token, method, ok := strings.Cut(rest, "/")
	b := s.lookupBot(token)
	if b == nil {
		writeError(w, errUnauthorized)
		return
	}
	method = strings.TrimPrefix(method, "test/")
	h := handlers[strings.ToLower(method)]
	if !ok || h == nil {
		writeError(w, errNotFound)
		return
	}
	lost, gatewayAfter := false, false
	if f := b.faults.Load(); f != nil {
		var gatewayBefore bool
		if gatewayBefore, gatewayAfter = gatewayFault(f); gatewayBefore {
			writeGateway(w)
			return
		}
		if !sleep(r, f.Latency+randDur(f.Jitter)) {
			return
		}
		if f.DropRate > 0 && rand.Float64() < f.DropRate {
			dropConn(w)
			return
		}
		if f.ServerErrorRate > 0 && rand.Float64() < f.ServerErrorRate {
			if rand.IntN(2) == 0 {
				writeError(w, &apiError{500, "Internal Server Error", 0})
			} else {
				writeError(w, &apiError{502, "Bad Gateway", 0})
			}
			return
		}
		if f.StallRate > 0 && rand.Float64() < f.StallRate {
			d := f.StallFor
			if d <= 0 {
				d = 24 * time.Hour
			}
			if !sleep(r, d) {
				return
			}
		}
		lost = f.LostResponseRate > 0 && rand.Float64() < f.LostResponseRate
	}
	b.methodFaults.count(method)
	if aerr := b.methodFault(method); aerr != nil {
		writeError(w, aerr)
		return
	}
	p, perr := parseParams(r)
	if perr != nil {
		writeError(w, perr)
		return
	}
	if f := b.faults.Load(); f != nil && f.IgnorePollTimeout {
		p.Timeout = 0
	}
	res, aerr := h(b, r, p)
	if lost {
		dropConn(w)
		return
	}
	if gatewayAfter {
		writeGateway(w)
		return
	}
	if aerr == errGone {
		return
	}
	if aerr != nil {
		if aerr.code == 429 {
			b.lim.tooMany.Add(1)
		}
		writeError(w, aerr)
		return
	}
	writeOK(w, res)
}

func randDur(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
