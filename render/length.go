package render

// Telegram's limits, in UTF-16 code units after entity parsing.
const (
	MaxTextLength    = 4096
	MaxCaptionLength = 1024
)

// VarUse is how a variable contributes to a rendered text's length.
type VarUse struct {
	Name       string
	Count      int // occurrences in the template
	DefaultLen int // UTF-16 length of its default (the longest, if uses differ)
}

// LengthModel describes a rendered text's length: Literal plus, for each variable
// use, the value's length (the default's when the value is empty). store uses it to
// find the recipients whose values make the message too long, in one query.
func (t *Template) LengthModel() (literal int, uses []VarUse) {
	idx := map[string]int{}
	for _, s := range t.segments {
		if !s.isVar {
			literal += s.end16 - s.start16
			continue
		}
		i, ok := idx[s.name]
		if !ok {
			i = len(uses)
			idx[s.name] = i
			uses = append(uses, VarUse{Name: s.name})
		}
		uses[i].Count++
		uses[i].DefaultLen = max(uses[i].DefaultLen, UTF16Len(s.def))
	}
	return literal, uses
}

// LongestLen is the longest the rendered text can be when no value of variable v is
// longer than maxLens[v] UTF-16 units (a missing name: the variable is empty, so its
// default). With nil it is the template's length with every default: over the limit
// then, no recipient can get the message. Compare with MaxTextLength or
// MaxCaptionLength.
func (t *Template) LongestLen(maxLens map[string]int) int {
	literal, uses := t.LengthModel()
	n := literal
	for _, u := range uses {
		n += u.Count * max(maxLens[u.Name], u.DefaultLen)
	}
	return n
}
