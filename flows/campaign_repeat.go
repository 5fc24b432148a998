package flows

import (
	"context"
	"strings"
	"time"

	"herald/i18n"
)

// The duplicate guard (issue 18.9): the same template sent to the same list minutes
// apart reached 20 people twice with no word of warning. Before Confirm the summary
// counts the campaign's recipients who already got this template in the last 24
// hours; from half of them on, it says so and its Confirm becomes "Send anyway".
// A plain Confirm (an older card, a double press) is refused while that holds.

// repeatWindow: a repeat is the same template to at least half of the same
// recipients within a day.
const repeatWindow = 24 * time.Hour

// anywayPrefix marks the summary's main button pressed over the warning:
// "anyway:confirm" or "anyway:send_rest".
const anywayPrefix = "anyway:"

type repeatStore interface {
	DeliveryRepeatCount(ctx context.Context, templateID, batchID int64, since time.Time) (int64, error)
}

func repeats(t *Turn) repeatStore { return t.st }

// repeatWarning is the warning for p, or "" when it is not a repeat.
func repeatWarning(ctx context.Context, t *Turn, p *campaignPlan) (string, error) {
	if p.reachable <= 0 {
		return "", nil
	}
	n, err := repeats(t).DeliveryRepeatCount(ctx, p.template.ID, p.batch.ID, t.Now.Add(-repeatWindow))
	if err != nil {
		return "", err
	}
	n = min(n, p.reachable)
	if 2*n < p.reachable {
		return "", nil
	}
	return t.L.N("cmp.repeat_warning", int(p.reachable), i18n.Data{"Count": t.L.Number(n), "Total": t.L.Number(p.reachable)}), nil
}

// guardRepeat adds the warning to the summary's text and turns its main button
// (the first of rows) into "Send anyway".
func guardRepeat(ctx context.Context, t *Turn, s *Session, p *campaignPlan, text *string, rows [][]Button) error {
	if len(rows) == 0 || len(p.blocking) > 0 {
		return nil
	}
	warning, err := repeatWarning(ctx, t, p)
	if err != nil || warning == "" {
		return err
	}
	*text += "\n\n⚠️ " + warning
	action := "confirm"
	if p.tooLongTotal > 0 {
		action = "send_rest"
	}
	rows[0][0] = s.Button(t.L.T("button.send_anyway"), anywayPrefix+action)
	return nil
}

// checkRepeat refuses a Confirm that was not pressed over the warning while the
// campaign is a repeat; action is the pressed action without anywayPrefix.
func checkRepeat(ctx context.Context, t *Turn, p *campaignPlan, action string) (string, error) {
	if rest, ok := strings.CutPrefix(action, anywayPrefix); ok {
		return rest, nil
	}
	warning, err := repeatWarning(ctx, t, p)
	if err != nil {
		return "", err
	}
	if warning != "" {
		return "", Invalid("cmp.repeat_refused", i18n.Data{"Warning": warning})
	}
	return action, nil
}
