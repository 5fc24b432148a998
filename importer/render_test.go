package importer_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"herald/importer"
	"herald/render"
)

// Every column name the importer produces can be used in a template, and the values it
// stores are what the template renders.
func TestColumnsWorkInTemplates(t *testing.T) {
	t.Parallel()
	header := "chat_id;Имя клиента;First-Name;Straße;2nd line;" + strings.Repeat("x", importer.MaxNameLength)
	rd, err := importer.Open(strings.NewReader(header+"\n1;Анна;Ann;Hauptstr.;second;long\n"), importer.Options{})
	require.NoError(t, err)
	require.True(t, rd.Next())
	var vars map[string]string
	require.NoError(t, json.Unmarshal(rd.Vars(), &vars))
	for _, name := range rd.Columns() {
		tpl, err := render.Parse("<{{"+name+"}}>", nil)
		require.NoError(t, err, name)
		text, _ := tpl.Render(vars)
		require.Equal(t, "<"+vars[name]+">", text, name)
		require.NotEmpty(t, vars[name], name)
	}
}
