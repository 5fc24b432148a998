package bot

import (
	"context"
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/tgemu"
	"herald/tgemu/emutest"
)

// A managed bot's webhook that this deployment set (webhook mode) is not "another
// app's": the takeover check sees nothing to take over; any other URL is reported.
func TestOwnManagedWebhookIsNotElsewhere(t *testing.T) {
	t.Parallel()
	emu := emutest.Start(t, tgemu.Config{})
	shop := emu.CreateBot("shop_bot")
	bots := &channelBots{apiURL: emu.URL(), hookBase: "https://herald.example/tg/hook"}
	tg, err := newClient(shop.Token, emu.URL(), callTimeout)
	require.NoError(t, err)
	ctx := context.Background()

	require.NoError(t, tg.SetWebhook(ctx, &telego.SetWebhookParams{URL: "https://herald.example/tg/hook/channel/7"}))
	hook, err := bots.WebhookURL(ctx, shop.Token)
	require.NoError(t, err)
	require.Empty(t, hook)

	require.NoError(t, tg.SetWebhook(ctx, &telego.SetWebhookParams{URL: "https://crm.example/hook"}))
	hook, err = bots.WebhookURL(ctx, shop.Token)
	require.NoError(t, err)
	require.Equal(t, "https://crm.example/hook", hook)

	polling := &channelBots{apiURL: emu.URL()} // a polling deployment owns no webhook
	require.NoError(t, tg.SetWebhook(ctx, &telego.SetWebhookParams{URL: "https://herald.example/tg/hook/channel/7"}))
	hook, err = polling.WebhookURL(ctx, shop.Token)
	require.NoError(t, err)
	require.Equal(t, "https://herald.example/tg/hook/channel/7", hook)
}
