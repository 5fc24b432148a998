package metrics_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"herald/metrics"
	"herald/store"
)

// alertRules is the shape of a Prometheus rule file, as far as the check needs it.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type noSource struct{}

func (noSource) MetricsSnapshotGet(context.Context) (store.MetricsSnapshot, error) {
	return store.MetricsSnapshot{}, errors.New("no database in this test")
}

// The example alert rules parse, contain the alerts the README promises, and name only
// metrics that Herald registers (so a renamed metric cannot silently disable an alert).
// Prometheus' own rule parser lives in the prometheus server module, too heavy a
// dependency for this check.
func TestAlertRulesNameExportedMetrics(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../deploy/prometheus-alerts.yml")
	require.NoError(t, err)
	var rules alertRules
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&rules))

	exported := map[string]bool{}
	descs := make(chan *prometheus.Desc, 256)
	// Describing needs no connection: the pool only has to exist.
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none")
	require.NoError(t, err)
	defer pool.Close()
	metrics.New(noSource{}, pool).Registry().Describe(descs)
	close(descs)
	nameRe := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		m := nameRe.FindStringSubmatch(d.String())
		require.NotNil(t, m, d.String())
		exported[m[1]] = true
	}

	alerts := map[string]bool{}
	used := regexp.MustCompile(`herald_[a-z0-9_]+`)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert)
			require.NotEmpty(t, r.Expr, r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			require.Equal(t, strings.Count(r.Expr, "("), strings.Count(r.Expr, ")"), "%s: unbalanced parentheses", r.Alert)
			alerts[r.Alert] = true
			for _, name := range used.FindAllString(r.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
				require.True(t, exported[name] || exported[base], "%s uses %s, which Herald does not export", r.Alert, name)
			}
		}
	}
	for _, want := range []string{"HeraldCampaignStalled", "HeraldTelegram429", "HeraldUncertainDeliveries"} {
		require.True(t, alerts[want], "missing alert %s", want)
	}
}
