// Package chart draws a campaign's delivery chart (issue 17.1): sends per second over
// time per channel bot with its configured rate, the time the campaign was paused or
// a bot waited out a 429 shaded, and the shares of the outcomes. It is a PNG for a
// phone: Width pixels wide, type at least 30 px (about 10 pt on a phone that shows the
// picture a third of its size), labels in the admin's language.
//
// It draws with gonum.org/v1/plot in pure Go (no browser, no system fonts): the
// Liberation Sans it embeds covers Cyrillic. Data comes from store.CampaignChartGet;
// Render only draws, so the same data always gives the same picture.
package chart

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"time"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"herald/i18n"
	"herald/store"
)

// The picture's size in pixels. At 72 dpi one point is one pixel, so every length
// below is in pixels.
const (
	Width  = 1080
	Height = 1350
)

// MaxBuckets is how many points across the time axis the chart needs at most: about
// one per pixel of the plot's width. Callers pass it to store.CampaignChartGet.
const MaxBuckets = 900

// Type sizes in pixels.
const (
	titleSize = 46
	textSize  = 32
	tickSize  = 30
)

var (
	sans     = font.Font{Typeface: "Liberation", Variant: "Sans"}
	sansBold = func() font.Font { f := sans; f.Weight = xfont.WeightBold; return f }()
)

// Colours: one per channel bot (cycled), and the outcomes'.
var (
	botColors = []color.RGBA{{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x9c, 0x27, 0xb0, 0xff}, {0x17, 0xbe, 0xcf, 0xff}}
	pauseFill = color.NRGBA{0x90, 0x90, 0x90, 0x60}
	waitFill  = color.NRGBA{0xff, 0x40, 0x40, 0x50}
	grey      = color.RGBA{0x55, 0x55, 0x55, 0xff}
	outcome   = map[string]color.RGBA{
		store.DeliverySent:      {0x2e, 0x9e, 0x44, 0xff},
		store.DeliveryBlocked:   {0xd6, 0x27, 0x28, 0xff},
		store.DeliveryFailed:    {0xff, 0x98, 0x00, 0xff},
		store.DeliveryUncertain: {0x8c, 0x56, 0x4b, 0xff},
		store.DeliveryPending:   {0xb0, 0xb0, 0xb0, 0xff},
	}
)

// Render draws the chart of d in l's language as a PNG. now closes what is still
// going on (a pause not yet resumed, a running campaign's time axis).
func Render(d store.CampaignChart, l *i18n.Localizer, now time.Time) ([]byte, error) {
	canvas := vgimg.NewWith(vgimg.UseWH(Width, Height), vgimg.UseDPI(72))
	dc := draw.New(canvas)
	s := newSeries(d, now)

	top := dc.Max.Y
	drawTitle(dc, d, l, s, top)
	legendTop := top - 830
	ratePanel := draw.Crop(dc, 10, -30, legendTop+10, -140)
	if err := drawRates(ratePanel, s, l); err != nil {
		return nil, err
	}
	sharesTop := drawLegend(dc, s, l, legendTop)
	drawShares(dc, d.Counts, l, sharesTop-20)

	// BestSpeed: most of a chart is flat colour, which compresses well anyway, and
	// the default level spent two thirds of the drawing time in deflate.
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, canvas.Image()); err != nil {
		return nil, fmt.Errorf("encode chart: %w", err)
	}
	return buf.Bytes(), nil
}

func style(f font.Font, size vg.Length, c color.Color, x draw.XAlignment, y draw.YAlignment) draw.TextStyle {
	f.Size = size
	return draw.TextStyle{Color: c, Font: f, XAlign: x, YAlign: y, Handler: plot.DefaultTextHandler}
}

// drawTitle writes the campaign's number and a line of totals at the top.
func drawTitle(dc draw.Canvas, d store.CampaignChart, l *i18n.Localizer, s series, top vg.Length) {
	c := d.Counts
	dc.FillText(style(sansBold, titleSize, color.Black, draw.XLeft, draw.YTop), vg.Point{X: 40, Y: top - 30},
		l.T("chart.title", i18n.Data{"ID": d.Campaign.ID}))
	line := l.T("chart.subtitle", i18n.Data{"Sent": plain(l.Number(c.Sent)), "Total": plain(l.Number(c.Total())),
		"Duration": l.Duration(s.span)})
	dc.FillText(style(sans, textSize, grey, draw.XLeft, draw.YTop), vg.Point{X: 40, Y: top - 88}, line)
}

// plain replaces the narrow no-break space Russian numbers are grouped with by a
// plain space: the embedded font has no glyph for it.
func plain(s string) string {
	out := []rune(s)
	for i, r := range out {
		if r == '\u202f' || r == '\u00a0' {
			out[i] = ' '
		}
	}
	return string(out)
}
