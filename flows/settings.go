package flows

import (
	"context"
	"slices"

	"herald/i18n"
)

// The settings screen: the admin's own preferences (issue 18.1). The language chosen
// here is kept over Telegram's language_code and used for everything Herald sends
// them, progress and reports included.
const (
	ActSettings    = "st"
	ActSettingsSet = "sl" // arg: language code
)

type settingsStore interface {
	AdminChooseLanguage(ctx context.Context, userID int64, lang string) error
}

func settings(t *Turn) settingsStore { return t.st }

// showSettings shows the current language with a button per language.
func showSettings(_ context.Context, t *Turn, _ string) error {
	var row []Button
	for _, lang := range i18n.Languages {
		text := t.L.T("settings.lang." + lang)
		if lang == t.L.Lang {
			text = "✅ " + text
		}
		row = append(row, Button{Text: text, Data: ScreenCallback(ActSettingsSet, lang)})
	}
	t.Reply(Reply{Text: t.L.T("settings.title", i18n.Data{"Language": t.L.T("settings.lang." + t.L.Lang)}),
		HTML: true, Edit: true, Keyboard: append([][]Button{row}, backToMenu(t)...)})
	return nil
}

// setLanguage stores the chosen language and shows the screen again in it.
func setLanguage(ctx context.Context, t *Turn, lang string) error {
	if !slices.Contains(i18n.Languages, lang) {
		return showSettings(ctx, t, "")
	}
	if err := settings(t).AdminChooseLanguage(ctx, t.Actor.UserID, lang); err != nil {
		return err
	}
	if err := t.Audit(ctx, "admin.language", itoa(t.Actor.UserID), map[string]any{"language": lang}); err != nil {
		return err
	}
	t.L = t.L.In(lang)
	t.Notice(t.L.T("settings.saved"))
	return showSettings(ctx, t, "")
}
