package bot_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/store"
)

func TestRestartContinuesDialog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	stop := b.start(t)
	owner := b.owner

	b.command(t, owner, "/newtemplate")
	namePrompt := b.next(t, owner)
	b.send(t, owner, "Restart me")
	contentPrompt := b.next(t, owner)
	require.Contains(t, contentPrompt.Text, "Step 2 of 4")
	stop() // Herald goes down in the middle of the dialog

	b.start(t) // a fresh runtime on the same database
	b.send(t, owner, "Hello {{first_name}}")
	require.Contains(t, b.next(t, owner).Text, "Step 3 of 4")

	// The keyboard of a step the dialog has left is outdated: a polite answer, no change.
	answer := b.press(t, owner, namePrompt, "Cancel")
	require.Contains(t, answer.Text, "outdated")
	answer = b.press(t, owner, contentPrompt, "Back")
	require.Contains(t, answer.Text, "outdated")
	var state string
	require.NoError(t, b.st.Pool().QueryRow(b.ctx, `SELECT state FROM dialog_sessions WHERE chat_id = $1`, owner.ID).Scan(&state))
	require.Equal(t, "buttons", state)
}

func TestBackKeepsDraftCancelAndDropDraft(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner

	b.command(t, owner, "/newtemplate")
	b.next(t, owner)
	b.send(t, owner, "First name")
	content := b.next(t, owner)
	b.press(t, owner, content, "Back")
	back := b.next(t, owner)
	require.Contains(t, back.Text, "step 1 of 4")
	require.Contains(t, back.Text, "Now: First name") // what was entered is kept
	b.press(t, owner, back, "Keep it")
	require.Contains(t, b.next(t, owner).Text, "Step 2 of 4")
	b.send(t, owner, "Body text")
	require.Contains(t, b.next(t, owner).Text, "Step 3 of 4")
	b.send(t, owner, "One - https://example.com/1\nTwo - https://example.com/2")
	b.next(t, owner) // preview
	b.press(t, owner, b.next(t, owner), "Back")
	buttons := b.next(t, owner)
	require.Contains(t, buttons.Text, "Step 3 of 4")
	b.press(t, owner, buttons, "Back")
	kept := b.next(t, owner)
	require.Contains(t, kept.Text, "is kept")
	b.press(t, owner, kept, "Keep it")
	b.press(t, owner, b.next(t, owner), "Keep 2 buttons")
	require.Equal(t, "Body text", b.next(t, owner).Text) // the preview, nothing lost
	require.Contains(t, b.next(t, owner).Text, "Step 4 of 4")
	b.command(t, owner, "/cancel")
	b.nextContaining(t, owner, "Cancelled")
	b.command(t, owner, "/newtemplate")
	b.next(t, owner)

	// A new command in the middle asks whether to drop the draft.
	b.command(t, owner, "/templates")
	first := b.next(t, owner)
	require.Contains(t, first.Text, "Drop the draft")
	b.press(t, owner, first, "Keep editing")
	require.Contains(t, b.next(t, owner).Text, "step 1 of 4")
	b.command(t, owner, "/templates")
	question := b.next(t, owner)
	b.press(t, owner, question, "Drop the draft")
	b.waitEdited(t, owner, question.MessageID, "No templates yet") // the list replaces the question
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions`))
	// The question's buttons are outdated once answered.
	require.Contains(t, b.press(t, owner, first, "Drop the draft").Text, "outdated")

	// /cancel works in any step.
	b.command(t, owner, "/newtemplate")
	b.next(t, owner)
	b.command(t, owner, "/cancel")
	require.Contains(t, b.next(t, owner).Text, "Cancelled")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions`))
	require.Empty(t, b.srv.UnansweredCallbacks(b.token))
}

func TestDialogExpires(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	owner := b.owner
	b.command(t, owner, "/newtemplate")
	b.next(t, owner)
	b.clock.advance(31 * time.Minute)
	b.send(t, owner, "Too late")
	require.Contains(t, b.next(t, owner).Text, "The dialog «new template» expired")
	require.Contains(t, b.next(t, owner).Text, "/menu")
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM dialog_sessions`))
}

func TestTwoAdminsAndOrderedMessages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	ann := b.owner
	boris := b.user(t, "Boris", "en")
	b.addAdmin(t, boris, store.RoleAdmin)

	// Both build templates at once; neither sees the other's draft.
	var wg sync.WaitGroup
	for _, u := range []struct {
		name, text string
	}{{"ann", "Ann's text"}, {"boris", "Boris's text"}} {
		user := ann
		if u.name == "boris" {
			user = boris
		}
		wg.Go(func() {
			b.command(t, user, "/newtemplate")
			b.next(t, user)
			b.send(t, user, "Template of "+u.name)
			b.next(t, user)
			b.send(t, user, u.text)
			b.next(t, user)
			b.send(t, user, "Site - https://example.com/"+u.name)
			require.Equal(t, u.text, b.next(t, user).Text)
			require.Contains(t, b.next(t, user).Text, "Template of "+u.name)
		})
	}
	wg.Wait()

	// 20 rapid messages from one admin are handled in order: each too-long name is
	// answered with its own length, then the prompt again.
	b.command(t, boris, "/cancel")
	b.nextContaining(t, boris, "Cancelled")
	b.command(t, boris, "/newtemplate")
	b.next(t, boris)
	for i := range 20 {
		b.send(t, boris, fmt.Sprintf("Template of boris%s", strings.Repeat("x", 60+i)))
	}
	for i := range 20 {
		m := b.nextContaining(t, boris, "The name has")
		require.Contains(t, m.Text, fmt.Sprintf("The name has %d characters", len("Template of boris")+60+i))
	}
}
