package bot_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/store"
)

// A test send re-uploads the template's document through the channel bot under the
// name of the downloaded file, so it keeps its extension (it was uploaded as
// "document", which clients cannot open).
func TestCampaignTestSendKeepsFileExtension(t *testing.T) {
	t.Parallel()
	b := setup(t)
	box := b.withSecrets(t)
	b.withQueue(t)
	b.start(t)
	owner := b.owner
	fx := b.campaignFixture(t, box)
	b.srv.SetStarted(fx.sender.Token, owner)

	doc, err := owner.SendDocument(b.token, "price list.pdf", "application/pdf", []byte("%PDF-1.4 prices"), "")
	require.NoError(t, err)
	b.next(t, owner) // "open the menu" hint
	_, err = b.st.TemplateCreate(b.ctx, store.Template{Name: "Prices", Body: "Prices for {{first_name}}",
		Entities: json.RawMessage(`[]`), Buttons: json.RawMessage(`[]`),
		MediaKind: "document", MediaFileID: doc.Document.FileID, MediaUniqueID: doc.Document.FileUniqueID, CreatedBy: owner.ID})
	require.NoError(t, err)

	b.command(t, owner, "/newcampaign")
	b.pick(t, owner, "Prices", "Main", "Now")
	b.next(t, owner) // the preview
	b.press(t, owner, b.next(t, owner), "Send test to me")
	require.Contains(t, b.next(t, owner).Text, "Test sent")

	transcript := b.srv.Transcript(fx.sender.Token, owner.ID)
	require.NotEmpty(t, transcript)
	got := transcript[len(transcript)-1].Message
	require.NotNil(t, got.Document)
	require.Equal(t, "Prices for Olga", got.Caption)
	require.True(t, strings.HasSuffix(got.Document.FileName, ".pdf"), "uploaded as %q", got.Document.FileName)
}
