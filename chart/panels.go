package chart

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"herald/i18n"
	"herald/store"
)

var limitDashes = []vg.Length{14, 10}

// drawRates draws the sends-per-second panel into c.
func drawRates(c draw.Canvas, s series, l *i18n.Localizer) error {
	p := plot.New()
	axis := func(a *plot.Axis, label string) {
		a.Label.Text = label
		a.Label.TextStyle.Font = sans
		a.Label.TextStyle.Font.Size = textSize
		a.Label.Padding = 12
		a.Tick.Label.Font = sans
		a.Tick.Label.Font.Size = tickSize
		a.Tick.Length = 10
		a.LineStyle.Width = 2
		a.Tick.LineStyle.Width = 2
		a.Padding = 6
	}
	axis(&p.X, l.T("chart.axis.time."+s.unitID))
	axis(&p.Y, l.T("chart.axis.rate"))
	p.X.Min, p.X.Max = 0, s.xMax
	p.Y.Min, p.Y.Max = 0, s.yMax

	p.Add(shade{spans: s.pauses, fill: pauseFill}, shade{spans: s.waits, fill: waitFill})
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = color.RGBA{0xe0, 0xe0, 0xe0, 0xff}, color.RGBA{0xe0, 0xe0, 0xe0, 0xff}
	grid.Vertical.Width, grid.Horizontal.Width = 1.5, 1.5
	p.Add(grid)
	for _, b := range s.bots {
		limit, err := plotter.NewLine(plotter.XYs{{X: 0, Y: float64(b.rate)}, {X: s.xMax, Y: float64(b.rate)}})
		if err != nil {
			return fmt.Errorf("chart limit line: %w", err)
		}
		limit.Color, limit.Width, limit.Dashes = b.color, 3, limitDashes
		p.Add(limit)
		if len(b.pts) == 0 {
			continue
		}
		line, err := plotter.NewLine(b.pts)
		if err != nil {
			return fmt.Errorf("chart rate line: %w", err)
		}
		line.Color, line.Width = b.color, 4
		p.Add(line)
	}
	p.X.Min, p.X.Max = 0, s.xMax // Add widened them to the data; keep the campaign's span
	p.Y.Min, p.Y.Max = 0, s.yMax
	p.Draw(c)
	return nil
}

// shade fills the spans (x from, x to) across the plot's height: the time the
// campaign was paused, or a bot waited out a 429.
type shade struct {
	spans [][2]float64
	fill  color.Color
}

func (sh shade) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, sp := range sh.spans {
		x0, x1 := trX(sp[0]), trX(sp[1])
		if x1-x0 < 3 { // a short wait is still seen
			x1 = x0 + 3
		}
		pts := []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}}
		c.FillPolygon(sh.fill, c.ClipPolygonX(pts))
	}
}

const lineHeight = 46

// drawLegend explains the panel in two columns below it (bots on the left; the limit,
// pauses and 429 waits on the right) and returns the y under it.
func drawLegend(dc draw.Canvas, s series, l *i18n.Localizer, top vg.Length) vg.Length {
	label := style(sans, textSize, color.Black, draw.XLeft, draw.YCenter)
	y := top - lineHeight/2
	left := y
	for _, b := range s.bots {
		dc.StrokeLine2(draw.LineStyle{Color: b.color, Width: 6}, 40, left, 100, left)
		dc.FillText(label, vg.Point{X: 115, Y: left}, l.T("chart.legend.bot", i18n.Data{"Name": clip(b.name, 22), "Rate": b.rate}))
		left -= lineHeight
	}
	right := y
	dc.StrokeLine2(draw.LineStyle{Color: grey, Width: 3, Dashes: limitDashes}, 620, right, 680, right)
	dc.FillText(label, vg.Point{X: 695, Y: right}, l.T("chart.legend.limit"))
	right -= lineHeight
	for _, e := range []struct {
		fill color.Color
		key  string
	}{{pauseFill, "chart.legend.pause"}, {waitFill, "chart.legend.wait"}} {
		dc.FillPolygon(e.fill, []vg.Point{{X: 620, Y: right - 16}, {X: 680, Y: right - 16}, {X: 680, Y: right + 16}, {X: 620, Y: right + 16}})
		dc.FillText(label, vg.Point{X: 695, Y: right}, l.T(e.key))
		right -= lineHeight
	}
	return min(left, right) + lineHeight/2
}

// clip shortens a bot's name to n characters.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// drawShares draws the outcomes as bars of the campaign's deliveries, from top down.
func drawShares(dc draw.Canvas, c store.DeliveryCounts, l *i18n.Localizer, top vg.Length) {
	dc.FillText(style(sansBold, textSize+4, color.Black, draw.XLeft, draw.YTop), vg.Point{X: 40, Y: top}, l.T("chart.shares"))
	rows := []struct {
		status string
		n      int64
	}{
		{store.DeliverySent, c.Sent}, {store.DeliveryBlocked, c.Blocked},
		{store.DeliveryFailed, c.Failed}, {store.DeliveryUncertain, c.Uncertain},
	}
	if c.Open() > 0 {
		rows = append(rows, struct {
			status string
			n      int64
		}{store.DeliveryPending, c.Open()})
	}
	total := max(c.Total()-c.Cancelled, 1)
	const barLeft, barMax = 340, 450
	label := style(sans, textSize, color.Black, draw.XLeft, draw.YCenter)
	value := style(sans, textSize, color.Black, draw.XRight, draw.YCenter)
	y := top - 60 - 30
	for _, r := range rows {
		share := float64(r.n) / float64(total)
		dc.FillText(label, vg.Point{X: 40, Y: y}, l.T("chart.outcome."+r.status))
		dc.FillPolygon(color.RGBA{0xee, 0xee, 0xee, 0xff}, rect(barLeft, y, barMax))
		if w := vg.Length(math.Round(share * barMax)); w > 0 {
			dc.FillPolygon(outcome[r.status], rect(barLeft, y, max(w, 3)))
		}
		dc.FillText(value, vg.Point{X: Width - 40, Y: y}, l.T("chart.share", i18n.Data{
			"Percent": l.Decimal(share * 100), "Count": plain(l.Number(r.n))}))
		y -= 62
	}
}

// rect is a bar of width w from x, centred on y.
func rect(x, y, w vg.Length) []vg.Point {
	return []vg.Point{{X: x, Y: y - 20}, {X: x + w, Y: y - 20}, {X: x + w, Y: y + 20}, {X: x, Y: y + 20}}
}
