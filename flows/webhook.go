package flows

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"herald/i18n"
	"herald/store"
)

// Owners' outgoing webhooks: a list screen, an add dialog (URL in, secret out, shown
// once) and a confirmed removal. Delivery and signing are queue's (WebhookArgs).
const (
	ActWebhooks             = "wh"
	ActWebhookAdd           = "wha"
	ActWebhookDelete        = "whd" // asks; arg: webhook id
	ActWebhookDeleteConfirm = "why"

	// FlowWebhookAdd is the owners' dialog that registers an endpoint.
	FlowWebhookAdd = "wh_add"
)

// maxWebhookURL matches the column's check.
const maxWebhookURL = 2048

type webhookStore interface {
	WebhookCreate(ctx context.Context, sealer store.TokenSealer, url, secret string, createdBy int64) (store.Webhook, error)
	WebhookList(ctx context.Context) ([]store.Webhook, error)
	WebhookGet(ctx context.Context, id int64) (store.Webhook, error)
	WebhookDelete(ctx context.Context, id int64) error
}

func webhooks(t *Turn) webhookStore { return t.st }

func dialogWebhookAdd() *Definition {
	return &Definition{
		Name: FlowWebhookAdd, Role: store.RoleOwner, Initial: "url",
		Steps: map[string]*Step{"url": {Prompt: promptWebhookURL, Handle: handleWebhookURL}},
	}
}

func promptWebhookURL(_ context.Context, t *Turn, _ *Session) error {
	t.Say("wh.ask_url")
	return nil
}

// webhookURL checks an endpoint: http(s) with a host, no credentials, bounded length.
func webhookURL(text string) (string, bool) {
	raw := strings.TrimSpace(text)
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxWebhookURL || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", false
	}
	return u.String(), true
}

// redactURL is what the list and the audit log show: no query (it may carry a key).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

func handleWebhookURL(ctx context.Context, t *Turn, _ *Session, in Input) (string, error) {
	if in.Action != "" {
		return "", Outdated()
	}
	box := t.Services().Box
	if box == nil {
		return "", Invalid("wh.no_secret_key", nil)
	}
	u, ok := webhookURL(in.Text)
	if !ok {
		return "", Invalid("wh.bad_url", nil)
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	secret := "whsec_" + hex.EncodeToString(b)
	w, err := webhooks(t).WebhookCreate(ctx, box, u, secret, t.Actor.UserID)
	if err != nil {
		return "", err
	}
	if err := t.Audit(ctx, "webhook.added", "webhook:"+itoa(w.ID), map[string]any{"url": redactURL(u)}); err != nil {
		return "", err
	}
	t.Reply(Reply{Text: t.L.T("wh.added", i18n.Data{"URL": esc(redactURL(u)), "Secret": secret}), HTML: true,
		Keyboard: [][]Button{{{Text: t.L.T("button.webhooks"), Data: ScreenCallback(ActWebhooks, "")}}}})
	return Done, nil
}

// showWebhooks lists the endpoints with Remove buttons and an Add button.
func showWebhooks(ctx context.Context, t *Turn, _ string) error {
	list, err := webhooks(t).WebhookList(ctx)
	if err != nil {
		return err
	}
	var lines []string
	var rows [][]Button
	for _, w := range list {
		lines = append(lines, esc(redactURL(w.URL)))
		rows = append(rows, []Button{{Text: t.L.T("button.remove_webhook", i18n.Data{"ID": itoa(w.ID)}),
			Data: ScreenCallback(ActWebhookDelete, itoa(w.ID))}})
	}
	listScreen(t, t.L.N("wh.list_header", len(list)), lines, rows,
		&Button{Text: t.L.T("button.add_webhook"), Data: ScreenCallback(ActWebhookAdd, "")})
	return nil
}

func startWebhookAdd(_ context.Context, t *Turn, _ string) error {
	t.Start(FlowWebhookAdd, nil)
	return nil
}

func webhookArg(ctx context.Context, t *Turn, arg string) (store.Webhook, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return store.Webhook{}, NotFound("wh.gone")
	}
	w, err := webhooks(t).WebhookGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return w, NotFound("wh.gone")
	}
	return w, err
}

func askDeleteWebhook(ctx context.Context, t *Turn, arg string) error {
	w, err := webhookArg(ctx, t, arg)
	if err != nil {
		return err
	}
	askOnce(t, t.L.T("wh.remove_question", i18n.Data{"URL": esc(redactURL(w.URL))}),
		"button.remove_yes", ScreenCallback(ActWebhookDeleteConfirm, itoa(w.ID)), ScreenCallback(ActWebhooks, ""))
	return nil
}

func deleteWebhook(ctx context.Context, t *Turn, arg string) error {
	w, err := webhookArg(ctx, t, arg)
	if err != nil {
		return err
	}
	if err := webhooks(t).WebhookDelete(ctx, w.ID); errors.Is(err, store.ErrNotFound) {
		return NotFound("wh.gone")
	} else if err != nil {
		return err
	}
	if err := t.Audit(ctx, "webhook.removed", "webhook:"+itoa(w.ID), map[string]any{"url": redactURL(w.URL)}); err != nil {
		return err
	}
	t.Notice(t.L.T("wh.removed"))
	return showWebhooks(ctx, t, "")
}
