package queue

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	// telego's own JSON library: decoding answers is on the hot path.
	json "github.com/grbit/go-json"
	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
	"github.com/valyala/fasthttp"

	"herald/store"
)

// notSentError is a request Telegram certainly did not act on: the connection was never
// made or was found closed before anything was written, or Telegram itself answered 5xx
// in its own JSON. Such a delivery may be retried without risking a second message.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return "request not delivered: " + e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// unknownOutcomeError is a request that may or may not have been acted on (a timeout
// or a connection lost after the request was written). Retrying it could send the
// message twice, so the delivery becomes uncertain (store.UncertainAnswerLost).
type unknownOutcomeError struct{ err error }

func (e *unknownOutcomeError) Error() string { return "outcome unknown: " + e.err.Error() }
func (e *unknownOutcomeError) Unwrap() error { return e.err }

// gatewayError is an answer that did not come from Telegram: a 502 or 504 of a gateway,
// or any answer whose body is not the Bot API's JSON. A gateway may give up after
// Telegram acted on the request, so the delivery becomes uncertain
// (store.UncertainGateway), never retried.
type gatewayError struct{ status int }

func (e *gatewayError) Error() string {
	return fmt.Sprintf("HTTP %d without a Bot API answer (a gateway's)", e.status)
}

// classifyingCaller is telego's fasthttp caller with transport errors sorted into
// notSentError, unknownOutcomeError and gatewayError; telego's own caller reports them
// as plain strings.
type classifyingCaller struct {
	client *fasthttp.Client
}

func (c classifyingCaller) Call(ctx context.Context, url string, data *ta.RequestData) (*ta.Response, error) {
	if data.BodyRaw == nil && data.BodyStream == nil {
		return nil, &notSentError{errors.New("empty request body")}
	}
	out := &ta.Response{}
	err := c.post(ctx, url, data.ContentType, func(req *fasthttp.Request) {
		if data.BodyRaw != nil {
			req.SetBodyRaw(data.BodyRaw)
		} else {
			req.SetBodyStream(data.BodyStream, -1)
		}
	}, func(body []byte) error { return json.Unmarshal(body, out) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// post makes one POST request and hands the answer's body to decode (the body is only
// valid during the call). Errors are sorted by what they prove (see sendProof).
func (c classifyingCaller) post(ctx context.Context, url, contentType string, setBody func(*fasthttp.Request), decode func([]byte) error) error {
	if err := ctx.Err(); err != nil {
		return &notSentError{err}
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(url)
	req.Header.SetContentType(contentType)
	req.Header.SetMethod(fasthttp.MethodPost)
	setBody(req)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	var err error
	if deadline, ok := ctx.Deadline(); ok {
		err = c.client.DoDeadline(req, resp, deadline)
	} else {
		err = c.client.Do(req, resp)
	}
	if err != nil {
		if requestNeverLeft(err) {
			return &notSentError{err}
		}
		return &unknownOutcomeError{err}
	}
	code := resp.StatusCode()
	if code != fasthttp.StatusOK && !isBotAPIError(resp.Body()) {
		return &gatewayError{status: code}
	}
	if err := decode(resp.Body()); err != nil {
		return &gatewayError{status: code}
	}
	return nil
}

// isBotAPIError reports whether body is the Bot API's own error answer: "ok": false
// with an error code. Telegram answers every error that way; a gateway's 502 page is
// not.
func isBotAPIError(body []byte) bool {
	var ans struct {
		OK        *bool `json:"ok"`
		ErrorCode int   `json:"error_code"`
	}
	return json.Unmarshal(body, &ans) == nil && ans.OK != nil && !*ans.OK && ans.ErrorCode != 0
}

// sendMessageAnswer is the part of sendMessage's answer the engine reads.
type sendMessageAnswer struct {
	OK     bool `json:"ok"`
	Result struct {
		MessageID int64 `json:"message_id"`
	} `json:"result"`
	ErrorCode   int                    `json:"error_code"`
	Description string                 `json:"description"`
	Parameters  *ta.ResponseParameters `json:"parameters"`
}

// sendText posts a sendMessage body written by appendSendMessage and returns the
// message id. This is the engine's hot path, so it does not go through telego's
// generic request path, which reflects over the parameters, builds debug strings for
// every request even with logging off (Response.String formats a nil *Error, which
// panics and recovers inside fmt) and decodes the whole Message; on the ceiling
// benchmark that was about a third of Herald's CPU. Errors are what telego returns:
// a *ta.Error for an API error, so classifySendError reads both alike.
func (c *channelClient) sendText(ctx context.Context, body []byte) (int64, error) {
	var ans sendMessageAnswer
	err := c.caller.post(ctx, c.sendMessageURL, ta.ContentTypeJSON, func(req *fasthttp.Request) { req.SetBodyRaw(body) },
		func(b []byte) error { return json.Unmarshal(b, &ans) })
	if err != nil {
		return 0, err
	}
	if !ans.OK {
		return 0, fmt.Errorf("api: %w", &ta.Error{Description: ans.Description, ErrorCode: ans.ErrorCode, Parameters: ans.Parameters})
	}
	return ans.Result.MessageID, nil
}

// channelClient is a channel bot's telego client plus the engine's own sendMessage.
type channelClient struct {
	*telego.Bot
	caller         classifyingCaller
	sendMessageURL string
}

// requestNeverLeft reports transport errors raised before any byte of the request
// reached the server.
func requestNeverLeft(err error) bool {
	if errors.Is(err, fasthttp.ErrNoFreeConns) || errors.Is(err, fasthttp.ErrDialTimeout) || errors.Is(err, errClosedWhileIdle) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// channelBots caches one telego client per channel bot. A client is rebuilt when the
// channel's token changes (its ciphertext differs).
type channelBots struct {
	apiURL    string
	openToken func([]byte) (string, error)
	caller    classifyingCaller

	mu   sync.Mutex
	bots map[int64]cachedBot
}

type cachedBot struct {
	sum [32]byte
	bot *channelClient
}

func newChannelBots(apiURL string, openToken func([]byte) (string, error), maxConns int) *channelBots {
	return &channelBots{
		apiURL:    apiURL,
		openToken: openToken,
		caller: classifyingCaller{client: &fasthttp.Client{
			Name:            "herald",
			MaxConnsPerHost: maxConns,
			// Every channel bot talks to the same host (api.telegram.org), so with more
			// than four busy lanes the connections run out; a request then waits for one
			// instead of failing at once with ErrNoFreeConns (a retry with backoff).
			MaxConnWaitTimeout: 5 * time.Second,
			// Servers and proxies close keep-alive connections that sit idle (commonly
			// after 60-75 s, some much sooner). Closing ours first avoids most of those
			// races; dialIdleChecked catches the rest before a byte is written.
			MaxIdleConnDuration: 15 * time.Second,
			DialTimeout:         dialIdleChecked,
			RetryIfErr:          retryIfClosedWhileIdle,
			ReadTimeout:         time.Minute,
			WriteTimeout:        time.Minute,
		}},
		bots: map[int64]cachedBot{},
	}
}

func (c *channelBots) get(ch store.Channel) (*channelClient, error) {
	sum := sha256.Sum256(ch.TokenCiphertext)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cb, ok := c.bots[ch.ID]; ok && cb.sum == sum {
		return cb.bot, nil
	}
	if c.openToken == nil {
		return nil, errors.New("no token opener configured")
	}
	token, err := c.openToken(ch.TokenCiphertext)
	if err != nil {
		return nil, fmt.Errorf("open token of channel %d: %w", ch.ID, err)
	}
	apiURL := "https://api.telegram.org"
	if c.apiURL != "" {
		apiURL = strings.TrimRight(c.apiURL, "/")
	}
	bot, err := telego.NewBot(token, telego.WithAPICaller(c.caller), telego.WithDiscardLogger(), telego.WithAPIServer(apiURL))
	if err != nil {
		// telego's error does not contain the token.
		return nil, fmt.Errorf("client for channel %d: %w", ch.ID, err)
	}
	cc := &channelClient{Bot: bot, caller: c.caller, sendMessageURL: apiURL + "/bot" + token + "/sendMessage"}
	c.bots[ch.ID] = cachedBot{sum: sum, bot: cc}
	return cc, nil
}

// sendClass is what an answer to a send means for the delivery.
type sendClass int

const (
	classSent        sendClass = iota
	classRateLimited           // 429: the lane waits retry_after; no attempt used
	classBlocked               // 403 blocked or deactivated: suppressed for the channel
	classUnreachable           // chat not found, can't initiate, kicked: failed
	classTemplate              // the message itself is refused: the campaign pauses
	classTooLong               // too long with this recipient's values: this one fails
	classRetry                 // proven not delivered: retry with backoff
	classUncertain             // may have been delivered: never resent automatically
)

// classification of one failed send.
type sendFailure struct {
	class      sendClass
	reason     string // short, stored as the delivery's error
	suppress   string // for classBlocked: store.SuppressBlocked or SuppressDeactivated
	retryAfter time.Duration
}

// classifySendError sorts an error of a send by what it proves. This is the one table
// of it (the package doc summarises it):
//
//	evidence                                      proves                        class
//	dial failed, no free connection               the request never left        retry
//	pooled connection found closed before a       the request never left        retried at once by
//	  byte was written (dialIdleChecked)                                          the transport, then retry
//	stopped before the request started            the request never left        put back (lane)
//	timeout, connection lost after writing        Telegram may have acted       uncertain:answer_lost
//	HTTP 502/504 or any answer that is not the    a gateway answered; Telegram  uncertain:gateway
//	  Bot API's JSON                                may have acted
//	Bot API JSON error 5xx                        Telegram answered, did not    retry
//	                                                act
//	Bot API JSON 429                              not acted; slow down          wait retry_after
//	Bot API JSON 403 blocked / deactivated        the user stopped the bot      blocked, suppressed
//	Bot API JSON 400 chat-specific, other 4xx     this chat cannot get it       failed
//	Bot API JSON 400 "message is too long"        too long (decided by caller)  fails one / pauses
//	Bot API JSON 400 other                        the message is refused        campaign pauses
//
// Error codes come first; descriptions are only consulted where the code alone does
// not tell (403 blocked vs deactivated vs can't initiate; 400 chat-specific vs
// template-wide).
func classifySendError(err error) sendFailure {
	var apiErr *ta.Error
	if errors.As(err, &apiErr) {
		return classifyAPIError(apiErr)
	}
	var notSent *notSentError
	if errors.As(err, &notSent) {
		return sendFailure{class: classRetry, reason: notSent.Error()}
	}
	var gw *gatewayError
	if errors.As(err, &gw) {
		return sendFailure{class: classUncertain, reason: store.UncertainGateway}
	}
	return sendFailure{class: classUncertain, reason: store.UncertainAnswerLost}
}

// errTooLong is Telegram's description of a text or caption over its limit.
const errTooLong = "message is too long"

func classifyAPIError(apiErr *ta.Error) sendFailure {
	desc := apiErr.Description
	lower := strings.ToLower(desc)
	switch {
	case apiErr.ErrorCode == 429:
		wait := time.Second
		if apiErr.Parameters != nil && apiErr.Parameters.RetryAfter > 0 {
			wait = time.Duration(apiErr.Parameters.RetryAfter) * time.Second
		}
		return sendFailure{class: classRateLimited, reason: desc, retryAfter: wait}
	case apiErr.ErrorCode == 403:
		switch {
		case strings.Contains(lower, "deactivated"):
			return sendFailure{class: classBlocked, reason: desc, suppress: store.SuppressDeactivated}
		case strings.Contains(lower, "blocked"):
			return sendFailure{class: classBlocked, reason: desc, suppress: store.SuppressBlocked}
		}
		return sendFailure{class: classUnreachable, reason: desc}
	case apiErr.ErrorCode == 400:
		if apiErr.Parameters != nil && apiErr.Parameters.MigrateToChatID != 0 {
			return sendFailure{class: classUnreachable, reason: desc}
		}
		for _, chatSpecific := range []string{"chat not found", "user not found", "peer_id_invalid", "chat_id is empty", "have no rights", "not enough rights"} {
			if strings.Contains(lower, chatSpecific) {
				return sendFailure{class: classUnreachable, reason: desc}
			}
		}
		if strings.Contains(lower, errTooLong) || strings.Contains(lower, "caption is too long") {
			return sendFailure{class: classTooLong, reason: desc}
		}
		// Anything else a 400 says is about the message (entities, length, buttons,
		// media) and would fail for every recipient.
		return sendFailure{class: classTemplate, reason: desc}
	case apiErr.ErrorCode >= 500:
		return sendFailure{class: classRetry, reason: desc}
	default:
		return sendFailure{class: classUnreachable, reason: desc}
	}
}
