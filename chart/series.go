package chart

import (
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot/plotter"

	"herald/store"
)

// series is the chart's data in plot coordinates: x in the time unit since the
// campaign started, y in deliveries per second.
type series struct {
	origin time.Time
	span   time.Duration
	unit   time.Duration
	unitID string // the axis label's catalog suffix: s, min or h
	xMax   float64
	yMax   float64
	bots   []botSeries
	pauses [][2]float64
	waits  [][2]float64
}

type botSeries struct {
	name  string
	rate  int
	color color.RGBA
	pts   plotter.XYs
}

func newSeries(d store.CampaignChart, now time.Time) series {
	var s series
	end := now
	if d.Campaign.FinishedAt != nil {
		end = *d.Campaign.FinishedAt
	}
	s.origin = end
	if d.Campaign.StartedAt != nil {
		s.origin = *d.Campaign.StartedAt
	}
	width := time.Second
	if len(d.Buckets) > 0 {
		width = time.Duration(d.Buckets[0].Width) * time.Second
		first, last := d.Buckets[0].Start, d.Buckets[len(d.Buckets)-1].Start.Add(width)
		if first.Before(s.origin) {
			s.origin = first
		}
		if last.After(end) {
			end = last
		}
	}
	s.span = max(end.Sub(s.origin), time.Second)
	switch {
	case s.span <= 3*time.Minute:
		s.unit, s.unitID = time.Second, "s"
	case s.span <= 3*time.Hour:
		s.unit, s.unitID = time.Minute, "min"
	default:
		s.unit, s.unitID = time.Hour, "h"
	}
	s.xMax = s.x(end)
	s.bots = botLines(d, s, width, end)
	for _, b := range s.bots {
		s.yMax = max(s.yMax, float64(b.rate))
		for _, p := range b.pts {
			s.yMax = max(s.yMax, p.Y)
		}
	}
	s.yMax = math.Max(s.yMax*1.12, 1)
	for _, p := range d.Pauses {
		stop := p.End
		if stop.IsZero() {
			stop = end
		}
		s.pauses = append(s.pauses, [2]float64{s.x(p.Start), s.x(stop)})
	}
	for _, b := range d.Buckets {
		if b.WaitMS > 0 {
			wait := time.Duration(b.WaitMS) * time.Millisecond
			s.waits = append(s.waits, [2]float64{s.x(b.Start), s.x(b.Start.Add(wait))})
		}
	}
	return s
}

// x is t's position on the time axis.
func (s series) x(t time.Time) float64 { return float64(t.Sub(s.origin)) / float64(s.unit) }

// botLines are the bots' rates, bucket by bucket from the first bucket to end, zero
// where a bot settled nothing. A bot appears when it settled anything, and the
// campaign's own bot always.
func botLines(d store.CampaignChart, s series, width time.Duration, end time.Time) []botSeries {
	perBot := map[int64]map[int64]float64{} // channel → bucket index → deliveries per second
	var lo time.Time
	if len(d.Buckets) > 0 {
		lo = d.Buckets[0].Start
	}
	for _, b := range d.Buckets {
		m := perBot[b.ChannelID]
		if m == nil {
			m = map[int64]float64{}
			perBot[b.ChannelID] = m
		}
		i := int64(b.Start.Sub(lo) / width)
		m[i] += float64(b.Sent+b.Blocked+b.Failed+b.Uncertain) / width.Seconds()
	}
	n := int64(0)
	if len(d.Buckets) > 0 {
		n = min(int64(end.Sub(lo)/width)+1, 4*MaxBuckets)
	}
	var out []botSeries
	for i, ch := range d.Channels {
		m, ok := perBot[ch.ID]
		if !ok && ch.ID != d.Campaign.ChannelID {
			continue
		}
		b := botSeries{name: ch.Name, rate: ch.RatePerSecond, color: botColors[i%len(botColors)]}
		for k := int64(0); k < n; k++ {
			at := lo.Add(time.Duration(k) * width)
			b.pts = append(b.pts, plotter.XY{X: s.x(at), Y: m[k]})
		}
		out = append(out, b)
	}
	return out
}
