package chart_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/chart"
	"herald/i18n"
	"herald/store"
)

// A campaign that has not sent anything yet (scheduled, or paused before its first
// send) still gets a chart: empty axes, the bot's limit, all shares at zero.
func TestRenderWithoutSends(t *testing.T) {
	t.Parallel()
	catalog, err := i18n.New("en")
	require.NoError(t, err)
	d := store.CampaignChart{
		Campaign: store.Campaign{ID: 7, ChannelID: 1, Status: store.CampaignPaused},
		Channels: []store.ChartChannel{{ID: 1, Name: "Main", RatePerSecond: 30}},
	}
	_, err = chart.Render(d, catalog.For("ru"), time.Now())
	require.NoError(t, err)
}
