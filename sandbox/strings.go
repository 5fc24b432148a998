package sandbox

import (
	"net/http"
	"strings"
)

// uiStrings are the web chat's own words (the bot's words come from Herald's catalogs,
// in the admin's Telegram language). Keys are the same in both languages; the page
// test checks that.
var uiStrings = map[string]map[string]string{
	"en": {
		"title":          "Herald sandbox",
		"banner":         "Sandbox: an emulated Telegram on this computer. Nothing reaches the real Telegram.",
		"admin_chat":     "Your chat with the management bot",
		"you_are":        "You are {name}, the owner of this Herald.",
		"start":          "Start",
		"empty_chat":     "Press Start or type /start to open the menu. Try /newtemplate, /newbatch, /newcampaign.",
		"placeholder":    "Message",
		"send":           "Send",
		"attach":         "Attach a CSV, XLSX or photo",
		"format_hint":    "Ctrl+B bold · Ctrl+I italic · Ctrl+U underline · Ctrl+Shift+X strikethrough · Ctrl+Shift+M code · Ctrl+Shift+P spoiler · Ctrl+K link",
		"link_prompt":    "Link address (https://…)",
		"edited":         "edited",
		"inbox":          "A recipient's phone",
		"inbox_pick":     "Recipient",
		"inbox_empty":    "Nothing from the channel bots yet. Start a campaign on a batch with this person.",
		"channels":       "Channel bots (emulated Telegram counters)",
		"sent":           "sent",
		"now":            "now",
		"peak":           "peak",
		"limit":          "limit",
		"too_many":       "429s",
		"per_second":     "/s",
		"paid":           "paid broadcast",
		"reconnecting":   "Reconnecting…",
		"upload_failed":  "Upload failed",
		"send_failed":    "Not sent",
		"random":         "Random",
		"chat_tab":       "Chat",
		"inbox_tab":      "Recipient",
		"sample_batch":   "A sample recipient list «{batch}» is ready: 1,000 simulated people (10 of them blocked the channel bots).",
		"language":       "Language",
		"download":       "Download",
		"from_bot":       "from",
		"composer_label": "Message to the management bot",
	},
	"ru": {
		"title":          "Песочница Herald",
		"banner":         "Песочница: эмуляция Telegram на этом компьютере. В настоящий Telegram ничего не уходит.",
		"admin_chat":     "Ваш чат с ботом управления",
		"you_are":        "Вы — {name}, владелец этого Herald.",
		"start":          "Запустить",
		"empty_chat":     "Нажмите «Запустить» или наберите /start, чтобы открыть меню. Попробуйте /newtemplate, /newbatch, /newcampaign.",
		"placeholder":    "Сообщение",
		"send":           "Отправить",
		"attach":         "Приложить CSV, XLSX или фото",
		"format_hint":    "Ctrl+B жирный · Ctrl+I курсив · Ctrl+U подчёркнутый · Ctrl+Shift+X зачёркнутый · Ctrl+Shift+M код · Ctrl+Shift+P спойлер · Ctrl+K ссылка",
		"link_prompt":    "Адрес ссылки (https://…)",
		"edited":         "изменено",
		"inbox":          "Телефон получателя",
		"inbox_pick":     "Получатель",
		"inbox_empty":    "От ботов рассылки пока ничего. Запустите кампанию по списку с этим человеком.",
		"channels":       "Боты рассылки (счётчики эмулятора Telegram)",
		"sent":           "всего",
		"now":            "сейчас",
		"peak":           "пик",
		"limit":          "лимит",
		"too_many":       "429",
		"per_second":     "/с",
		"paid":           "платная рассылка",
		"reconnecting":   "Переподключение…",
		"upload_failed":  "Файл не загружен",
		"send_failed":    "Не отправлено",
		"random":         "Случайный",
		"chat_tab":       "Чат",
		"inbox_tab":      "Получатель",
		"sample_batch":   "Готов пример списка получателей «{batch}»: 1000 смоделированных людей (10 из них заблокировали ботов рассылки).",
		"language":       "Язык",
		"download":       "Скачать",
		"from_bot":       "от",
		"composer_label": "Сообщение боту управления",
	},
}

// pickLanguage chooses ru or en: an explicit ?lang= wins, then the browser's
// Accept-Language in its order of preference; English otherwise.
func pickLanguage(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); uiStrings[l] != nil {
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if uiStrings[base] != nil {
			return base
		}
	}
	return "en"
}
