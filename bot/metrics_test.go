package bot_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"herald/metrics"
)

// Every handled update is observed: its wait behind the chat and its handling time,
// by kind.
func TestUpdatesAreObserved(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := metrics.New(nil, nil)
	b.cfg.Observer = m
	b.start(t)
	b.command(t, b.owner, "/menu")
	menu := b.next(t, b.owner)
	b.press(t, b.owner, menu, "🛡 Admins")
	b.waitEdited(t, b.owner, menu.MessageID, "can use Herald")

	counts := func() map[string]uint64 {
		families, err := m.Registry().Gather()
		require.NoError(t, err)
		out := map[string]uint64{}
		for _, f := range families {
			for _, s := range f.GetMetric() {
				if h := s.GetHistogram(); h != nil {
					out[f.GetName()+"/"+s.GetLabel()[0].GetValue()] = h.GetSampleCount()
				}
			}
		}
		return out
	}
	eventually(t, func() bool { return counts()["herald_bot_reply_seconds/callback"] == 1 })
	c := counts()
	require.EqualValues(t, 1, c["herald_bot_reply_seconds/message"])
	require.EqualValues(t, 1, c["herald_bot_update_intake_seconds/message"])
	require.EqualValues(t, 1, c["herald_bot_update_intake_seconds/callback"])
}
