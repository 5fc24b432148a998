package flows

import (
	"context"
	"errors"
	"herald/i18n"
	"herald/store"
	"strconv"
)

// showCampaigns lists recent campaigns with their status.
func showCampaigns(ctx context.Context, t *Turn, arg string) error {
	page, _ := strconv.Atoi(arg)
	page = max(page, 0)
	list, total, err := campaigns(t).CampaignList(ctx, page*PageSize, PageSize)
	if err != nil {
		return err
	}
	text := t.L.N("cmp.list_header", total)
	if total == 0 {
		text = t.L.T("cmp.list_empty")
	}
	var rows [][]Button
	for _, c := range list {
		rows = append(rows, []Button{{Text: statusIcon(c.Status) + " #" + itoa(c.ID) + " " + c.TemplateName + " → " + campaignAudienceName(t, c),
			Data: ScreenCallback(ActCampaignView, itoa(c.ID))}})
	}
	rows = append(rows, pager(t, ActCampaigns, page, total)...)
	if total > 0 {
		rows = append(rows, []Button{{Text: t.L.T("button.history"), Data: ScreenCallback(ActCampaignHistory, "")}})
	}
	if t.Actor.CanChange() {
		rows = append(rows, []Button{{Text: t.L.T("button.new_campaign"), Data: ScreenCallback(ActCampaignNew, "")}})
	}
	if err := appendRepeat(ctx, t, &rows); err != nil { // Same as last time (campaign_guided.go)
		return err
	}
	rows = append(rows, backToMenu(t)...)
	t.Reply(Reply{Text: text, HTML: true, Edit: true, Keyboard: rows})
	return nil
}

// statusName is a campaign status in words (or as it is, for an unusual one).
func statusName(t *Turn, status string) string {
	key := "cmp.status." + status
	if s := t.L.T(key); s != key {
		return s
	}
	return status
}

func statusIcon(status string) string {
	switch status {
	case store.CampaignScheduled:
		return "🕒"
	case store.CampaignRunning:
		return "▶️"
	case store.CampaignPaused:
		return "⏸"
	case store.CampaignCompleted:
		return "✅"
	case store.CampaignCancelled:
		return "⏹"
	default:
		return "⚠️"
	}
}

// showCampaign is a campaign's card: counts and the control buttons its status allows.
func showCampaign(ctx context.Context, t *Turn, arg string) error {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return NotFound("cmp.gone")
	}
	c, err := campaigns(t).CampaignItemGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return NotFound("cmp.gone")
	}
	if err != nil {
		return err
	}
	n, err := campaigns(t).DeliveryCounts(ctx, id)
	if err != nil {
		return err
	}
	when, err := whenText(ctx, t, c.ScheduledAt)
	if err != nil {
		return err
	}
	text := t.L.T("cmp.card", i18n.Data{"ID": c.ID, "Status": statusIcon(c.Status) + " " + statusName(t, c.Status),
		"Template": esc(c.TemplateName), "Batch": esc(campaignAudienceName(t, c)), "Channel": esc(c.ChannelName), "When": when,
		"Total": n.Total(), "Sent": n.Sent, "Pending": n.Open(), "Failed": n.Failed, "Blocked": n.Blocked,
		"Uncertain": n.Uncertain, "Cancelled": n.Cancelled})
	if c.PauseReason != nil && *c.PauseReason != "" {
		text += "\n" + t.L.T("cmp.reason", i18n.Data{"Reason": esc(*c.PauseReason)})
	}
	btn := func(key, action string) Button {
		return Button{Text: t.L.T(key), Data: ScreenCallback(ActCampaignCardControl, action+":"+itoa(c.ID))}
	}
	var controls []Button
	switch c.Status {
	case store.CampaignRunning:
		controls = append(controls, btn("button.pause", controlPause), btn("button.cancel_campaign", controlCancel))
	case store.CampaignPaused:
		controls = append(controls, btn("button.resume", controlResume), btn("button.cancel_campaign", controlCancel))
	case store.CampaignScheduled:
		controls = append(controls, btn("button.cancel_campaign", controlCancel))
	}
	var rows [][]Button
	if len(controls) > 0 {
		rows = append(rows, controls)
	}
	if n.Uncertain > 0 && (c.Status == store.CampaignRunning || c.Status == store.CampaignPaused || c.Status == store.CampaignCompleted) {
		rows = append(rows, []Button{btn("button.resend_uncertain", controlResend)})
	}
	if after := afterSendButtons(t, c.ID, c.Status); len(after) > 0 {
		rows = append(rows, after)
	}
	rows = append(rows, operationRows(t, c, n)...) // edit, delete, pin what was sent
	rows = append(rows,
		[]Button{{Text: t.L.T("button.refresh"), Data: ScreenCallback(ActCampaignView, itoa(c.ID))}},
		[]Button{{Text: t.L.T("button.to_list"), Data: ScreenCallback(ActCampaigns, "0")}})
	t.Reply(Reply{Text: text, HTML: true, Edit: true, Keyboard: rows})
	return nil
}
