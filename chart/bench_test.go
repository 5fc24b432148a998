package chart_test

import (
	"testing"
	"time"

	"herald/chart"
	"herald/i18n"
)

// BenchmarkRender draws the sample chart (about 300 seconds of two bots).
func BenchmarkRender(b *testing.B) {
	catalog, err := i18n.New("en")
	if err != nil {
		b.Fatal(err)
	}
	d := sample()
	l := catalog.For("ru")
	for b.Loop() {
		if _, err := chart.Render(d, l, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
