package tgemu

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"image"
	_ "image/gif" // photo dimensions
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/mymmrac/telego"
)

const (
	kindPhoto uint8 = iota + 1
	kindDocument
	kindVideo
	kindAnimation
)

var kindDirs = map[uint8]string{kindPhoto: "photos", kindDocument: "documents", kindVideo: "videos", kindAnimation: "animations"}

var commandRE = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// file is one stored upload. A file_id belongs to exactly one bot, as on
// Telegram, so another bot presenting it gets "wrong file identifier".
type file struct {
	id, uniqueID  string
	bot           *bot
	kind          uint8
	name, mime    string
	data          []byte
	width, height int
	path          string // set by getFile; guarded by bot.miscMu
}

type fileRef = file

type media struct {
	f        *file
	fresh    bool // not yet registered: registered only when the send is accepted
	duration int
}

func randomID(prefix string, n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return prefix + base64.RawURLEncoding.EncodeToString(buf)
}

func (s *Server) newFile(b *bot, kind uint8, name, mimeType string, data []byte) *file {
	f := &file{
		id: randomID("AgAC", 24), uniqueID: randomID("AQAD", 9),
		bot: b, kind: kind, name: name, mime: mimeType, data: data,
	}
	if kind == kindPhoto || kind == kindVideo || kind == kindAnimation {
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil {
			f.width, f.height = cfg.Width, cfg.Height
		}
	}
	if kind == kindPhoto {
		f.name, f.mime = "", ""
	}
	return f
}

func (s *Server) registerFile(f *file) {
	s.filesMu.Lock()
	s.files[f.id] = f
	s.filesMu.Unlock()
}

func (s *Server) lookupFile(b *bot, id string) *file {
	s.filesMu.RLock()
	f := s.files[id]
	s.filesMu.RUnlock()
	if f == nil || f.bot != b {
		return nil
	}
	return f
}

var errWrongFile = badRequest("wrong file identifier/HTTP URL specified")

// inputFile resolves an InputFile parameter: a multipart upload (directly
// under the field name, or "attach://<name>"), or a file_id of this bot.
func (b *bot) inputFile(p *params, kind uint8, ref string) (*media, *apiError) {
	field := map[uint8]string{kindPhoto: "photo", kindDocument: "document", kindVideo: "video", kindAnimation: "animation"}[kind]
	up := p.files[field]
	if name, ok := strings.CutPrefix(ref, "attach://"); ok {
		if up = p.files[name]; up == nil {
			return nil, errWrongFile
		}
	}
	if up != nil {
		return &media{f: b.srv.newFile(b, kind, up.name, up.mime, up.data), fresh: true, duration: p.Duration}, nil
	}
	switch {
	case ref == "":
		return nil, badRequest("there is no " + field + " in the request")
	case strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://"):
		return nil, badRequest("failed to get HTTP URL content") // URL fetching is not emulated
	}
	f := b.srv.lookupFile(b, ref)
	if f == nil {
		return nil, errWrongFile
	}
	return &media{f: f, duration: p.Duration}, nil
}

func (m *media) render(tm *telego.Message) {
	f := m.f
	size := int64(len(f.data))
	switch f.kind {
	case kindPhoto:
		tm.Photo = []telego.PhotoSize{{FileID: f.id, FileUniqueID: f.uniqueID, Width: f.width, Height: f.height, FileSize: int(size)}}
	case kindDocument:
		tm.Document = &telego.Document{FileID: f.id, FileUniqueID: f.uniqueID, FileName: f.name, MimeType: f.mime, FileSize: size}
	case kindVideo:
		tm.Video = &telego.Video{FileID: f.id, FileUniqueID: f.uniqueID, Width: f.width, Height: f.height, Duration: m.duration, FileName: f.name, MimeType: f.mime, FileSize: size}
	case kindAnimation:
		tm.Animation = &telego.Animation{FileID: f.id, FileUniqueID: f.uniqueID, Width: f.width, Height: f.height, Duration: m.duration, FileName: f.name, MimeType: f.mime, FileSize: size}
		// Telegram also fills document for animations, for old clients.
		tm.Document = &telego.Document{FileID: f.id, FileUniqueID: f.uniqueID, FileName: f.name, MimeType: f.mime, FileSize: size}
	}
}

func (b *bot) getFile(_ *http.Request, p *params) (any, *apiError) {
	f := b.srv.lookupFile(b, p.FileID)
	if f == nil {
		return nil, errWrongFile
	}
	if len(f.data) > maxGetFile {
		return nil, badRequest("file is too big")
	}
	b.miscMu.Lock()
	if f.path == "" {
		ext := path.Ext(f.name)
		if f.kind == kindPhoto {
			ext = ".jpg"
		}
		f.path = kindDirs[f.kind] + "/file_" + strconv.FormatInt(b.srv.nextSeq.Add(1), 10) + ext
		b.paths[f.path] = f
	}
	fp := f.path
	b.miscMu.Unlock()
	return telego.File{FileID: f.id, FileUniqueID: f.uniqueID, FileSize: int64(len(f.data)), FilePath: fp}, nil
}

// serveFile answers GET /file/bot<token>/<file_path>.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, rest string) {
	token, fp, _ := strings.Cut(rest, "/")
	b := s.lookupBot(token)
	if b == nil {
		writeError(w, errUnauthorized)
		return
	}
	b.miscMu.Lock()
	f := b.paths[fp]
	b.miscMu.Unlock()
	if f == nil {
		writeError(w, errNotFound)
		return
	}
	ct := f.mime
	if ct == "" {
		ct = http.DetectContentType(f.data)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	_, _ = w.Write(f.data)
}
