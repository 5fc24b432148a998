package flows

import (
	"slices"

	"herald/i18n"
)

// The wizard's step numbers and Back follow the screens the admin actually saw: a
// piece chosen by itself (the only bot, the only list) is no step, and "Same as last
// time" opens at the summary with no step before it. The draft keeps the asking
// screens in the order the admin first saw them (Seen) and the screen the summary was
// reached from (Prev). The numbers have no "of N": how many screens follow depends on
// choices still to make (the bots chosen decide whether there is an audience to ask).

// seeStep notes that the admin sees state's screen and returns its number (1-based).
func seeStep(s *Session, d *campaignDraft, state string) (int, error) {
	if i := slices.Index(d.Seen, state); i >= 0 {
		return i + 1, nil
	}
	d.Seen = append(d.Seen, state)
	return len(d.Seen), s.Save(*d)
}

// stepHeader is the first line of an asking screen: "New campaign, step 1" on the
// first one, "Step N" on the others.
func stepHeader(t *Turn, s *Session, d *campaignDraft, state string) (string, error) {
	n, err := seeStep(s, d, state)
	if err != nil {
		return "", err
	}
	if n == 1 {
		return t.L.T("cmp.step_first") + "\n", nil
	}
	return t.L.T("cmp.step", i18n.Data{"N": n}) + "\n", nil
}

// summaryHeader is the summary's first line: the step after the screens seen, or no
// number when it is the first screen (a repeat, or every piece the only option).
func summaryHeader(t *Turn, d campaignDraft) string {
	if len(d.Seen) == 0 {
		return t.L.T("cmp.summary_head") + "\n"
	}
	return t.L.T("cmp.summary_step", i18n.Data{"N": len(d.Seen) + 1}) + "\n"
}

// backBefore is Back of an asking screen: to the asking screen the admin saw before
// it, none when it was the first.
func backBefore(state string) func(s *Session) string {
	return func(s *Session) string {
		d, err := loadCampaignDraft(s)
		if err != nil {
			return ""
		}
		i := slices.Index(d.Seen, state)
		if i <= 0 {
			return ""
		}
		return "to_" + d.Seen[i-1]
	}
}

// summaryBack is the summary's Back: to the time screen when the admin came from it,
// else to the screen the summary was reached from; none when the summary came first.
func summaryBack(s *Session) string {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return ""
	}
	if !d.At.IsZero() {
		return "to_when"
	}
	if d.Prev == "" {
		return ""
	}
	return "to_" + d.Prev
}
