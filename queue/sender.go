package queue

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"herald/store"
)

// TextSender sends a text template to one chat at a time exactly as a delivery lane
// does — the recipient's variables decoded from JSON, the template rendered, the
// request body written by appendSendMessage and posted through the lanes' fasthttp
// client (same connection limit, same error classification) with the same request
// timeout — but without lanes, claims or settles around it. It exists for `herald
// bench`, whose baseline (one River job per message) must send the way the lanes do
// so that the comparison measures the design, not the send path.
type TextSender struct {
	msg  *campaignMessage
	bots []*channelClient
	cfg  DeliveryConfig // defaults: the request timeout
}

// NewTextSender prepares body (a template without media or buttons) for the bots with
// tokens, served by the Bot API at apiURL ("" for Telegram's).
func NewTextSender(apiURL, body string, tokens []string) (*TextSender, error) {
	cfg := DeliveryConfig{}.withDefaults()
	msg, err := prepareMessage(context.Background(), nil, nil, store.Channel{}, store.CampaignMessage{Body: body}, zerolog.Nop())
	if err != nil {
		return nil, err
	}
	// A plain token "ciphertext": the cache keys its clients by it.
	cache := newChannelBots(apiURL, func(c []byte) (string, error) { return string(c), nil }, 4*cfg.Concurrency)
	s := &TextSender{msg: msg, cfg: cfg}
	for i, tok := range tokens {
		b, err := cache.get(store.Channel{ID: int64(i + 1), TokenCiphertext: []byte(tok)})
		if err != nil {
			return nil, err
		}
		s.bots = append(s.bots, b)
	}
	return s, nil
}

// Send renders the template with vars (a JSON object, as a recipient's are stored)
// and sends it to chatID through the bot tokens[bot]; it returns the message id.
func (s *TextSender) Send(ctx context.Context, bot int, chatID int64, vars []byte) (int64, error) {
	v, err := decodeVars(vars)
	if err != nil {
		return 0, fmt.Errorf("recipient variables: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	return s.msg.send(ctx, s.bots[bot], chatID, v)
}
