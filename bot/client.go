package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
)

// newClient is the one way this package builds a Bot API client: net/http (which, unlike
// telego's default fasthttp, cancels a request — a long poll in particular — when its
// context ends) behind a caller that keeps the token out of every error, because
// net/http's *url.Error quotes the request URL, /bot<token>/<method>, and errors end up
// in logs.
func newClient(token, apiURL string, timeout time.Duration) (*telego.Bot, error) {
	return telego.NewBot(token, telego.WithAPIServer(apiURL), telego.WithDiscardLogger(),
		telego.WithAPICaller(redactingCaller{next: ta.HTTPCaller{Client: &http.Client{Timeout: timeout}}, token: token}))
}

type redactingCaller struct {
	next  ta.Caller
	token string
}

func (c redactingCaller) Call(ctx context.Context, u string, data *ta.RequestData) (*ta.Response, error) {
	resp, err := c.next.Call(ctx, u, data)
	return resp, redact(err, c.token)
}

// redact removes token from err's text. The url.Error layer is replaced by its
// operation and cause, so errors.Is still finds context.Canceled and friends.
func redact(err error, token string) error {
	if err == nil || token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, redact(ue.Err, token))
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "<token>"))
}
