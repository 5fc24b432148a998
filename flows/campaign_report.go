package flows

import (
	"context"
	"errors"
	"strconv"

	"herald/i18n"
	"herald/store"
)

// The final report's buttons (queue.addReportButtons): Open shows the campaign's card
// in a message of its own, so the report stays; Resend to the unreached asks once,
// with the count and why nobody gets the message twice (store.CampaignResendUnreached
// says who is safe to resend to), and ActCampaignControlSure does it; the list of the
// unreached becomes a new recipient list at once (nothing is sent).

// Report screens; the prefixes are queue.Report*Prefix (a bot test checks they agree).
const (
	ActCampaignReportOpen      = "kq" // arg: campaign id
	ActCampaignResendUnreached = "kr" // asks; arg: campaign id
	ActCampaignUnreachedList   = "ku" // arg: campaign id
)

// controlUnreached is the confirmed resend to the unreached (ActCampaignControlSure).
const controlUnreached = "unreached"

type reportStore interface {
	DeliveryResendableCount(ctx context.Context, campaignID int64) (int64, error)
	BatchFromUnreached(ctx context.Context, campaignID int64, name string, createdBy int64) (store.Batch, error)
}

func reports(t *Turn) reportStore { return t.st }

// reportCampaign is the campaign a report button names.
func reportCampaign(ctx context.Context, t *Turn, arg string) (store.CampaignListItem, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return store.CampaignListItem{}, NotFound("cmp.gone")
	}
	c, err := campaigns(t).CampaignItemGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, NotFound("cmp.gone")
	}
	return c, err
}

// openFromReport shows the campaign's card below the report, which keeps its text.
func openFromReport(ctx context.Context, t *Turn, arg string) error {
	first := len(t.replies)
	if err := showCampaign(ctx, t, arg); err != nil {
		return err
	}
	for i := first; i < len(t.replies); i++ {
		t.replies[i].Edit = false
	}
	return nil
}

// askResendUnreached asks before sending again to those it is safe to resend to.
func askResendUnreached(ctx context.Context, t *Turn, arg string) error {
	c, err := reportCampaign(ctx, t, arg)
	if err != nil {
		return err
	}
	n, err := reports(t).DeliveryResendableCount(ctx, c.ID)
	if err != nil {
		return err
	}
	if n == 0 || c.Status != store.CampaignCompleted {
		return Conflict("cmp.resend_unreached_none", i18n.Data{"ID": c.ID})
	}
	id := itoa(c.ID)
	t.Reply(Reply{Text: t.L.N("cmp.ask.unreached", int(n), i18n.Data{"ID": c.ID, "Template": esc(c.TemplateName)}), HTML: true,
		Keyboard: [][]Button{
			{{Text: t.L.T("button.sure." + controlUnreached), Data: ScreenCallback(ActCampaignControlSure, controlUnreached+":"+id)}},
			{{Text: t.L.T("button.delete_no"), Data: ScreenCallback(ActCampaignView, id)}},
		}})
	return nil
}

// listUnreached makes the campaign's unreached recipients a new recipient list,
// named after the campaign.
func listUnreached(ctx context.Context, t *Turn, arg string) error {
	c, err := reportCampaign(ctx, t, arg)
	if err != nil {
		return err
	}
	switch c.Status {
	case store.CampaignCompleted, store.CampaignCancelled, store.CampaignFailed:
	default:
		return Conflict("cmp.unreached_unfinished", i18n.Data{"ID": c.ID, "Status": statusName(t, c.Status)})
	}
	n, err := campaigns(t).DeliveryCounts(ctx, c.ID)
	if err != nil {
		return err
	}
	if n.Total()-n.Sent == 0 {
		return Conflict("cmp.unreached_none", i18n.Data{"ID": c.ID})
	}
	name := clipRunes(t.L.T("batch.unreached_name", i18n.Data{"Template": c.TemplateName, "ID": c.ID}), maxNameLength)
	b, err := reports(t).BatchFromUnreached(ctx, c.ID, name, t.Actor.UserID)
	switch {
	case errors.Is(err, store.ErrNameTaken):
		return Conflict("cmp.unreached_list_exists", i18n.Data{"Name": esc(name)})
	case err != nil:
		return err
	}
	if err := t.Audit(ctx, "campaign.unreached_listed", "batch:"+itoa(b.ID),
		map[string]any{"campaign_id": c.ID, "recipients": b.RecipientCount}); err != nil {
		return err
	}
	t.Reply(Reply{Text: t.L.N("cmp.unreached_list_created", b.RecipientCount, i18n.Data{"Name": esc(b.Name), "ID": c.ID}), HTML: true,
		Keyboard: [][]Button{
			{{Text: t.L.T("button.open"), Data: ScreenCallback(ActBatchView, itoa(b.ID))}},
			{{Text: t.L.T("button.new_campaign"), Data: ScreenCallback(ActCampaignNew, "")}},
		}})
	return nil
}
