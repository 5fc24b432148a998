package chart_test

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"herald/chart"
	"herald/i18n"
	"herald/store"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata")

// sample is a fixed campaign: 5,000 recipients through two bots (30/s and 20/s), a
// 20-second pause, one 429 wait of 5 s, a few blocked, failed and uncertain.
func sample() store.CampaignChart {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	finish := start.Add(150 * time.Second)
	d := store.CampaignChart{
		Campaign: store.Campaign{ID: 42, ChannelID: 1, Status: store.CampaignCompleted, StartedAt: &start, FinishedAt: &finish},
		Counts:   store.DeliveryCounts{Sent: 4810, Blocked: 120, Failed: 60, Uncertain: 10},
		Channels: []store.ChartChannel{{ID: 1, Name: "Новости бот", RatePerSecond: 30}, {ID: 2, Name: "Promo bot", RatePerSecond: 20}},
		Pauses:   []store.Interval{{Start: start.Add(60 * time.Second), End: start.Add(80 * time.Second)}},
	}
	for s := 0; s < 148; s++ {
		if s >= 60 && s < 80 {
			continue
		}
		at := start.Add(time.Duration(s) * time.Second)
		one := store.SecondsBucket{ChannelID: 1, Start: at, Width: 1, Sent: 28 + int64(s%3), Blocked: int64(s % 2)}
		two := store.SecondsBucket{ChannelID: 2, Start: at, Width: 1, Sent: 18 + int64(s%2), Failed: int64(s % 3 / 2)}
		if s == 100 {
			two.Sent, two.RateLimited, two.WaitMS = 3, 1, 5000
		}
		if s > 100 && s < 105 {
			two.Sent = 0
		}
		d.Buckets = append(d.Buckets, one, two)
	}
	return d
}

func render(t *testing.T, lang string) []byte {
	t.Helper()
	catalog, err := i18n.New("en")
	require.NoError(t, err)
	d := sample()
	data, err := chart.Render(d, catalog.For(lang), d.Campaign.FinishedAt.Add(time.Hour))
	require.NoError(t, err)
	return data
}

// The chart is a PNG of the promised size, and it looks like the reviewed picture
// in testdata (within a tolerance for font rasterisation).
func TestRenderMatchesGolden(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"ru", "en"} {
		data := render(t, lang)
		img, err := png.Decode(bytes.NewReader(data))
		require.NoError(t, err)
		require.Equal(t, image.Rect(0, 0, chart.Width, chart.Height), img.Bounds())
		golden := filepath.Join("testdata", "campaign-"+lang+".png")
		if *update {
			require.NoError(t, os.WriteFile(golden, data, 0o644))
			continue
		}
		raw, err := os.ReadFile(golden)
		require.NoError(t, err, "run go test ./chart -update to create it")
		want, err := png.Decode(bytes.NewReader(raw))
		require.NoError(t, err)
		differ := differentPixels(img, want)
		require.Less(t, differ, 0.01, "%s: %.2f%% of the pixels differ from %s", lang, differ*100, golden)
	}
}

// differentPixels is the share of pixels whose colour differs by more than a
// rasteriser's rounding (antialiased glyph edges move by a shade, not a colour).
func differentPixels(a, b image.Image) float64 {
	if a.Bounds() != b.Bounds() {
		return 1
	}
	var n int
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if absDiff(r1, r2)+absDiff(g1, g2)+absDiff(b1, b2) > 3*0x2000 {
				n++
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy())
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
