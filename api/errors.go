package api

import (
	"context"
	"errors"
	"html"
	"net/http"
	"regexp"

	"github.com/danielgtaylor/huma/v2"

	"herald/flows"
	"herald/store"
)

// Problem is an RFC 9457 problem detail. Code is flows' Error code (invalid,
// not_found, forbidden, conflict, internal) or unauthorized/too_large for what only
// HTTP has; Key and Data name the bot's catalog text, Detail is that text in English.
type Problem struct {
	Type   string              `json:"type,omitempty" doc:"A URI reference naming the problem type" format:"uri-reference"`
	Title  string              `json:"title" doc:"Short summary of the problem type"`
	Status int                 `json:"status" doc:"HTTP status code"`
	Detail string              `json:"detail,omitempty" doc:"What is wrong and how to fix it"`
	Code   string              `json:"code" doc:"Herald's error code, as in the bot" enum:"invalid,not_found,forbidden,conflict,internal,unauthorized,too_large"`
	Key    string              `json:"key,omitempty" doc:"The catalog key of the bot's text for this problem"`
	Data   map[string]any      `json:"data,omitempty" doc:"The values the text names"`
	Errors []*huma.ErrorDetail `json:"errors,omitempty" doc:"Individual input errors"`
}

func (p *Problem) Error() string                { return p.Detail }
func (p *Problem) GetStatus() int               { return p.Status }
func (p *Problem) ContentType(ct string) string { return "application/problem+json" }

// codeOf is the code of a status huma produced by itself (validation, size, auth).
func codeOf(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "unauthorized"
	case status == http.StatusForbidden:
		return string(flows.CodeForbidden)
	case status == http.StatusNotFound:
		return string(flows.CodeNotFound)
	case status == http.StatusConflict:
		return string(flows.CodeConflict)
	case status == http.StatusRequestEntityTooLarge:
		return "too_large"
	case status >= 500:
		return string(flows.CodeInternal)
	}
	return string(flows.CodeInvalid)
}

// newProblem replaces huma.NewError, so every error huma writes is a Problem.
func newProblem(status int, msg string, errs ...error) huma.StatusError {
	p := &Problem{Status: status, Title: http.StatusText(status), Detail: msg, Code: codeOf(status)}
	for _, err := range errs {
		var d huma.ErrorDetailer
		if errors.As(err, &d) {
			p.Errors = append(p.Errors, d.ErrorDetail())
		} else if err != nil {
			p.Errors = append(p.Errors, &huma.ErrorDetail{Message: err.Error()})
		}
	}
	return p
}

var tags = regexp.MustCompile(`<[^>]*>`)

// plain turns a catalog text (Telegram HTML) into plain text.
func plain(s string) string { return html.UnescapeString(tags.ReplaceAllString(s, "")) }

// fail turns a handler's error into a Problem: a flows *Error keeps its code and key
// (and gets the bot's English text as detail); store.ErrNotFound is not_found; anything
// else is logged and answered as internal, with nothing of the cause.
func (s *Server) fail(ctx context.Context, err error) error {
	var fe *flows.Error
	var p *Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &fe) && fe.Code != flows.CodeInternal:
		status := map[flows.Code]int{flows.CodeInvalid: http.StatusUnprocessableEntity, flows.CodeNotFound: http.StatusNotFound,
			flows.CodeForbidden: http.StatusForbidden, flows.CodeConflict: http.StatusConflict, flows.CodeNote: http.StatusOK}[fe.Code]
		return &Problem{Status: status, Title: http.StatusText(status), Code: string(fe.Code), Key: fe.Key,
			Data: fe.Data, Detail: plain(s.en.T(fe.Key, fe.Data))}
	case errors.Is(err, store.ErrNotFound):
		return notFound()
	}
	s.cfg.Logger.Error().Err(err).Str("api_key", keyOf(ctx).Name).Msg("api: internal error")
	return &Problem{Status: http.StatusInternalServerError, Title: "Internal Server Error", Code: string(flows.CodeInternal),
		Detail: "something went wrong on our side; the error is logged"}
}

func notFound() *Problem {
	return &Problem{Status: http.StatusNotFound, Title: "Not Found", Code: string(flows.CodeNotFound), Detail: "no such object"}
}

func invalid(key, detail string) *Problem {
	return &Problem{Status: http.StatusUnprocessableEntity, Title: "Unprocessable Entity", Code: string(flows.CodeInvalid),
		Key: key, Detail: detail}
}
