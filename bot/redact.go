package bot

import (
	"context"
	"strings"

	ta "github.com/mymmrac/telego/telegoapi"
)

// redactingCaller keeps the bot token out of errors. Bot API URLs contain the token
// (/bot<token>/method) and net/http's *url.Error quotes the URL, so without this every
// failed getUpdates would write the management bot's token into the log.
type redactingCaller struct {
	next  ta.Caller
	token string
}

func (c redactingCaller) Call(ctx context.Context, url string, data *ta.RequestData) (*ta.Response, error) {
	resp, err := c.next.Call(ctx, url, data)
	if err != nil && c.token != "" && strings.Contains(err.Error(), c.token) {
		err = &redactedError{msg: strings.ReplaceAll(err.Error(), c.token, "<token>"), err: err}
	}
	return resp, err
}

// redactedError is err with the token cut out of its text; errors.Is and errors.As
// still see err (a cancelled context stays recognisable).
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
