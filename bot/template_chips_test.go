package bot_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mymmrac/telego"
	"github.com/stretchr/testify/require"

	"herald/importer"
	"herald/store"
)

// copyChips are the copy_text buttons of m, in order.
func copyChips(m telego.Message) []string {
	var out []string
	if m.ReplyMarkup == nil {
		return nil
	}
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if b.CopyText != nil {
				out = append(out, b.Text+"="+b.CopyText.Text)
			}
		}
	}
	return out
}

// TestTemplateVariableChips: with no list the content step has no chips; once lists
// exist it offers their columns, newest list first, as buttons that copy
// «{{column}}».
func TestTemplateVariableChips(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner

	b.command(t, owner, "/newtemplate")
	b.next(t, owner)
	b.send(t, owner, "No lists yet")
	content := b.next(t, owner)
	require.Contains(t, content.Text, "Step 2 of 4")
	require.Empty(t, copyChips(content))
	require.NotContains(t, content.Text, "tap one to copy")
	b.command(t, owner, "/cancel")
	b.nextContaining(t, owner, "Cancelled")

	for _, l := range []struct{ name, csv string }{
		{"Old", "chat_id,first_name,city\n1,Ann,Riga\n"},
		{"New", "chat_id,first_name,coupon\n2,Bob,X1\n"},
	} {
		rd, err := importer.OpenCSV(strings.NewReader(l.csv))
		require.NoError(t, err)
		_, err = b.st.BatchImport(b.ctx, store.BatchImportParams{Name: l.name, CreatedBy: owner.ID, Source: rd})
		require.NoError(t, err)
	}
	b.command(t, owner, "/newtemplate")
	b.next(t, owner)
	b.send(t, owner, "With lists")
	content = b.next(t, owner)
	require.Contains(t, content.Text, "tap one to copy its variable")
	require.Equal(t, []string{"{{first_name}}={{first_name}}", "{{coupon}}={{coupon}}", "{{city}}={{city}}"}, copyChips(content),
		fmt.Sprint(content.ReplyMarkup))
	// The chips sit above the dialog's own buttons.
	last := content.ReplyMarkup.InlineKeyboard[len(content.ReplyMarkup.InlineKeyboard)-1]
	require.Contains(t, fmt.Sprint(last), "Cancel")
}
