package flows

import (
	"context"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mymmrac/telego"

	"herald/render"
)

// A variable that no list has is most often a typo ({{first_nmae}}): each recipient
// would get the default or an empty place. The builder's preview names such a
// variable, suggests the closest known one and offers a button that fixes it.

// standardVars are the names a list usually carries, known even before any list is
// uploaded.
var standardVars = []string{"first_name", "last_name", "username", "name"}

// knownVarsBatches bounds how many of the newest lists lend their columns.
const knownVarsBatches = 200

// fixVarAction is the preview's fix button; arg: the index among unknownVars.
const fixVarAction = "fix:"

// unknownVar is a variable no list has, with the closest known name ("" if none is close).
type unknownVar struct {
	Name, Suggest string
}

// knownVars are the standard names and the columns of the lists.
func knownVars(ctx context.Context, t *Turn) ([]string, error) {
	list, _, err := batches(t).BatchList(ctx, 0, knownVarsBatches)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		name = strings.ToLower(name)
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, v := range standardVars {
		add(v)
	}
	for _, b := range list {
		for _, c := range b.Columns {
			add(c)
		}
	}
	return out, nil
}

// unknownVars lists the template's variables that are not in known, in order of use.
func unknownVars(vars []render.Var, known []string) []unknownVar {
	isKnown := make(map[string]bool, len(known))
	for _, k := range known {
		isKnown[k] = true
	}
	var out []unknownVar
	for _, v := range vars {
		if !isKnown[v.Name] {
			out = append(out, unknownVar{Name: v.Name, Suggest: closestName(v.Name, known)})
		}
	}
	return out
}

// closestName is the known name at the smallest edit distance from name, if that is
// small enough to be a typo: one edit for short names, two otherwise.
func closestName(name string, known []string) string {
	limit := 2
	if utf8.RuneCountInString(name) <= 4 {
		limit = 1
	}
	best, bestD := "", limit+1
	sorted := append([]string(nil), known...)
	sort.Strings(sorted) // ties go the same way every time
	for _, k := range sorted {
		if d := editDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b: insertions,
// deletions, substitutions and swaps of neighbours ("nmae" → "name") cost one each.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	prev2 := make([]int, len(y)+1)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(y)]
}

// renameVar writes every {{from…}} placeholder of body as {{to…}} (keeping a default)
// and moves the entities so that they cover the same text as before.
func renameVar(body string, entities []telego.MessageEntity, from, to string) (string, []telego.MessageEntity) {
	type edit struct{ at, at16, oldLen, oldLen16 int }
	var edits []edit
	pos16 := 0
	for i := 0; i < len(body); {
		if strings.HasPrefix(body[i:], "{{") {
			if end := strings.Index(body[i+2:], "}}"); end >= 0 {
				inner := body[i+2 : i+2+end]
				name, _, _ := strings.Cut(inner, "|")
				if strings.ToLower(strings.TrimSpace(name)) == from {
					lead := len(name) - len(strings.TrimLeft(name, " \t"))
					at := i + 2 + lead
					trimmed := strings.TrimSpace(name)
					edits = append(edits, edit{at: at, at16: pos16 + render.UTF16Len(body[i:at]),
						oldLen: len(trimmed), oldLen16: render.UTF16Len(trimmed)})
				}
				placeholder := body[i : i+2+end+2]
				pos16 += render.UTF16Len(placeholder)
				i += len(placeholder)
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(body[i:])
		pos16 += render.UTF16Len(string(r))
		i += size
	}
	out := append([]telego.MessageEntity(nil), entities...)
	delta16 := render.UTF16Len(to)
	for k := len(edits) - 1; k >= 0; k-- { // from the end, so earlier positions hold
		e := edits[k]
		body = body[:e.at] + to + body[e.at+e.oldLen:]
		d := delta16 - e.oldLen16
		for j := range out {
			switch {
			case out[j].Offset >= e.at16+e.oldLen16:
				out[j].Offset += d
			case out[j].Offset <= e.at16 && out[j].Offset+out[j].Length >= e.at16+e.oldLen16:
				out[j].Length += d
			}
		}
	}
	return body, out
}
