package queue

import (
	"encoding/json"
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"
)

// The engine's own sendMessage body must mean exactly what telego would have sent.
func TestAppendSendMessageMatchesTelego(t *testing.T) {
	t.Parallel()
	markup := &telego.InlineKeyboardMarkup{InlineKeyboard: [][]telego.InlineKeyboardButton{{{Text: "Go \"now\"", URL: "https://example.com/?a=1&b=<2>"}}}}
	markupJSON, err := json.Marshal(markup)
	require.NoError(t, err)
	entities := []telego.MessageEntity{{Type: "bold", Offset: 0, Length: 5}, {Type: "text_link", Offset: 6, Length: 3, URL: "https://x.y"}}
	entitiesJSON, err := json.Marshal(entities)
	require.NoError(t, err)
	for _, text := range []string{
		"Hello, Ann!", "", "quote \" backslash \\ slash / tab \t cr \r nl \n bell \a nul \x00 del \x7f",
		"Привет, 世界 👋 <b>&amp;</b> \u2028 \u2029", "bad utf-8 \xff\xfe end",
	} {
		for _, paid := range []bool{false, true} {
			for _, withExtras := range []bool{false, true} {
				want := &telego.SendMessageParams{ChatID: telego.ChatID{ID: -1001234567890}, Text: text, AllowPaidBroadcast: paid}
				var ents, mk []byte
				if withExtras {
					want.Entities, want.ReplyMarkup = entities, markup
					ents, mk = entitiesJSON, markupJSON
				}
				body := appendSendMessage(nil, -1001234567890, text, ents, mk, paid)
				require.True(t, json.Valid(body), "%q", body)
				var got, exp any
				require.NoError(t, json.Unmarshal(body, &got))
				wantJSON, err := json.Marshal(want)
				require.NoError(t, err)
				require.NoError(t, json.Unmarshal(wantJSON, &exp))
				require.Equal(t, exp, got, "%q", text)
			}
		}
	}
}
