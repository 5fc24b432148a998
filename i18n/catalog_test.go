package i18n_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/i18n"
	"herald/importer"
	"herald/render"
	"herald/store"
)

// keyRE finds catalog keys written as string literals in the bot's code.
var keyRE = regexp.MustCompile(`"((?:tpl|adm|dialog|button|menu|error|callback|hint|command|cmd|flow|role|audit|help|sample|batch|chan|cmp|import|dur|delivery|settings|key|api)\.[a-z_.]+[a-z_])"`)

// TestEveryKeyInBothLanguages fails when code uses a text missing from a catalog, or a
// key built at run time (reasons, kinds, roles, sections, flows) has no text.
func TestEveryKeyInBothLanguages(t *testing.T) {
	t.Parallel()
	catalog, err := i18n.New("en")
	require.NoError(t, err)
	keys := map[string]bool{}
	for _, dir := range []string{"../flows", "../bot", "../queue"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		for _, f := range files {
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, m := range keyRE.FindAllStringSubmatch(string(src), -1) {
				keys[m[1]] = true
			}
		}
	}
	require.Greater(t, len(keys), 50)
	for _, r := range []string{render.ReasonUnclosed, render.ReasonEmptyName, render.ReasonBadName, render.ReasonEntityRange} {
		keys["tpl.syntax."+r] = true
	}
	for _, r := range []string{render.ButtonNoSeparator, render.ButtonEmptyText, render.ButtonTextTooLong, render.ButtonBadURL, render.ButtonTooMany} {
		keys["tpl.button."+r] = true
	}
	for _, k := range []string{"tpl.kind.text", "tpl.kind.photo", "tpl.kind.video", "tpl.kind.document", "tpl.kind.animation",
		"role.owner", "role.admin", "role.viewer", "menu.batches", "menu.channels", "menu.campaigns",
		"flow.tpl_new", "flow.tpl_rename", "flow.adm_add", "flow.batch_new", "flow.batch_rename", "flow.chan_add",
		"flow.chan_rename", "flow.chan_rate", "flow.cmp_new"} {
		keys[k] = true
	}
	for _, c := range []importer.Code{importer.CodeEmpty, importer.CodeBinary, importer.CodeTooBig, importer.CodeBadHeader,
		importer.CodeLongHeader, importer.CodeDuplicateColumn, importer.CodeNoIDColumn, importer.CodeTooManyColumns,
		importer.CodeMalformed, importer.CodeBadXLSX, importer.CodeNoRows, importer.CodeNoValidRows,
		importer.CodeCellTooLong, importer.CodeRowTooLong, importer.CodeRowTooWide, importer.CodeTooManyRows,
		importer.CodeTooMuchData, importer.CodeXLSXTooLarge} {
		keys["import.err."+string(c)] = true
	}
	for _, r := range []importer.Reason{importer.ReasonEmptyID, importer.ReasonNotNumeric, importer.ReasonZeroID,
		importer.ReasonOutOfRange, importer.ReasonExtraFields, importer.ReasonExcelDigits} {
		keys["import.reason."+string(r)] = true
	}
	for _, s := range []string{store.CampaignScheduled, store.CampaignRunning, store.CampaignPaused, store.CampaignCompleted,
		store.CampaignCancelled, store.CampaignFailed} {
		keys["cmp.status."+s] = true
		keys["delivery.status."+s] = true
	}
	for _, a := range []string{"pause", "resume", "cancel", "resend"} {
		keys["cmp.action."+a] = true
		keys["cmp.done."+a] = true
	}
	for _, lang := range i18n.Languages {
		l := catalog.For(lang)
		for k := range keys {
			if k == "sample.first_name" || k == "no.such.key" {
				continue
			}
			require.True(t, l.Has(k), "%s: missing %q", lang, k)
		}
	}
}

// TestCatalogsHaveTheSameKeys keeps the languages in step: a text added in one
// catalog only would silently fall back to the other language.
func TestCatalogsHaveTheSameKeys(t *testing.T) {
	t.Parallel()
	read := func(lang string) map[string]json.RawMessage {
		data, err := os.ReadFile(filepath.Join("locales", lang+".json"))
		require.NoError(t, err)
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(data, &m))
		return m
	}
	en, ru := read("en"), read("ru")
	for id := range en {
		require.Contains(t, ru, id, "missing in ru")
	}
	for id := range ru {
		require.Contains(t, en, id, "missing in en")
	}
}
