package flows

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"herald/i18n"
	"herald/store"
)

// The wizard's audience step (issue 14): one screen of buttons offering the batches
// and the audience kinds the chosen bot(s) have — their subscribers, those of one
// /start source, those who started since a date, their groups and channels, and each
// batch intersected with their subscribers. When the only choice is one batch, the
// channel step chooses it and the wizard skips this screen. "Since" asks the date on
// a step of its own (aud_since), with buttons for the usual spans.

type audienceStore interface {
	AudienceOptions(ctx context.Context, channelIDs []int64, maxSources int) (store.AudienceOptions, error)
}

func audiences(t *Turn) audienceStore { return t.st }

// sourcesShown is how many /start sources the audience step offers as buttons.
const sourcesShown = 6

// sinceSpans are the since step's buttons: action → days back from now.
var sinceSpans = []struct {
	action string
	days   int
}{{"d1", 1}, {"d7", 7}, {"d30", 30}}

// channels are the bots the draft sends through, the first one first.
func (d campaignDraft) channels() []int64 {
	if len(d.ChannelIDs) > 0 {
		return d.ChannelIDs
	}
	if d.ChannelID != 0 {
		return []int64{d.ChannelID}
	}
	return nil
}

// audience is what the draft sends to.
func (d campaignDraft) audience() store.Audience {
	a := store.Audience{Kind: d.Audience, BatchID: d.BatchID, Source: d.Source, Since: d.Since}
	if a.Kind == "" {
		a.Kind = store.AudienceBatch
	}
	return a
}

// pickChannels handles the channel step's press: one bot ("c:<id>") or every enabled
// bot ("c:all"). It returns the bots, first one first.
func pickChannels(ctx context.Context, t *Turn, action string) ([]int64, error) {
	if action == "c:all" {
		list, err := channels(t).ChannelList(ctx)
		if err != nil {
			return nil, err
		}
		var ids []int64
		for _, c := range list {
			if c.Enabled {
				ids = append(ids, c.ID)
			}
		}
		if len(ids) == 0 {
			return nil, Invalid("cmp.no_channels", nil)
		}
		return ids, nil
	}
	id, ok := pickID(action, "c:")
	if !ok {
		if action != "" {
			return nil, Outdated()
		}
		return nil, Invalid("cmp.press_a_button", nil)
	}
	c, err := channels(t).ChannelGet(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, Invalid("chan.gone", nil)
	case err != nil:
		return nil, err
	case !c.Enabled:
		return nil, Invalid("cmp.channel_disabled", i18n.Data{"Name": esc(c.Name)})
	}
	return []int64{id}, nil
}

// allChannelsButton offers every enabled bot at once when there are several.
func allChannelsButton(t *Turn, s *Session, enabled int) []Button {
	if enabled < 2 {
		return nil
	}
	return []Button{s.Button(t.L.T("cmp.all_channels", i18n.Data{"Count": enabled}), "c:all")}
}

func promptCampaignAudience(ctx context.Context, t *Turn, s *Session) error {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return err
	}
	head, err := stepHeader(t, s, &d, "audience")
	if err != nil {
		return err
	}
	opts, err := audiences(t).AudienceOptions(ctx, d.channels(), sourcesShown)
	if err != nil {
		return err
	}
	list, _, err := batches(t).BatchList(ctx, 0, pickLimit)
	if err != nil {
		return err
	}
	var rows [][]Button
	if opts.Subscribers > 0 {
		rows = append(rows, []Button{s.Button(t.L.T("cmp.aud.subscribers", i18n.Data{"Count": t.L.Number(opts.Subscribers)}), "subs")})
		d.Sources = d.Sources[:0]
		for i, src := range opts.Sources {
			d.Sources = append(d.Sources, src.Source)
			rows = append(rows, []Button{s.Button(t.L.T("cmp.aud.source", i18n.Data{"Source": src.Source,
				"Count": t.L.Number(src.Count)}), "s:"+strconv.Itoa(i))})
		}
		rows = append(rows, []Button{s.Button(t.L.T("cmp.aud.since"), "since")})
	}
	if opts.Chats > 0 {
		rows = append(rows, []Button{s.Button(t.L.T("cmp.aud.chats", i18n.Data{"Count": t.L.Number(opts.Chats)}), "chats")})
	}
	for _, b := range list {
		row := []Button{s.Button("👥 "+b.Name+" · "+strconv.Itoa(b.RecipientCount), "b:"+itoa(b.ID))}
		if opts.Subscribers > 0 {
			row = append(row, s.Button(t.L.T("cmp.aud.batch_subscribers"), "bs:"+itoa(b.ID)))
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		t.Reply(Reply{Text: t.L.T("cmp.no_batches"), HTML: true, Keyboard: [][]Button{newPieceButton(t, s, pieceBatch)}})
		return nil
	}
	rows = append(rows, newPieceButton(t, s, pieceBatch))
	if err := s.Save(d); err != nil { // the sources the buttons point at
		return err
	}
	key := "cmp.ask_audience"
	if opts.Subscribers == 0 && opts.Chats == 0 {
		key = "cmp.ask_batch"
	}
	t.Reply(Reply{Text: head + t.L.T(key), HTML: true, Keyboard: rows})
	return nil
}

func handleCampaignAudience(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	a := store.Audience{}
	switch act := in.Action; {
	case act == "":
		return "", Invalid("cmp.press_a_button", nil)
	case act == newPieceAction:
		return newPiece(s, pieceBatch), nil
	case act == "subs":
		a.Kind = store.AudienceSubscribers
	case act == "chats":
		a.Kind = store.AudienceChats
	case act == "since":
		return "need_since", nil
	case strings.HasPrefix(act, "s:"):
		i, err := strconv.Atoi(act[2:])
		if err != nil || i < 0 || i >= len(d.Sources) {
			return "", Outdated()
		}
		a.Kind, a.Source = store.AudienceSource, d.Sources[i]
	default:
		kind, prefix := store.AudienceBatch, "b:"
		if strings.HasPrefix(act, "bs:") {
			kind, prefix = store.AudienceBatchSubscribers, "bs:"
		}
		id, ok := pickID(act, prefix)
		if !ok {
			return "", Outdated()
		}
		if _, _, err := batches(t).BatchGet(ctx, id); errors.Is(err, store.ErrNotFound) {
			return "", Invalid("batch.gone", nil)
		} else if err != nil {
			return "", err
		}
		a.Kind, a.BatchID = kind, id
	}
	d.Audience, d.BatchID, d.Source, d.Since = a.Kind, a.BatchID, a.Source, a.Since
	return guideOn(ctx, t, s, d)
}

func promptCampaignSince(ctx context.Context, t *Turn, s *Session) error {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return err
	}
	head, err := stepHeader(t, s, &d, "since")
	if err != nil {
		return err
	}
	var row []Button
	for _, sp := range sinceSpans {
		row = append(row, s.Button(t.L.N("cmp.since_days", sp.days), sp.action))
	}
	t.Reply(Reply{Text: head + t.L.T("cmp.ask_since", i18n.Data{"Example": t.Now.AddDate(0, 0, -7).Format("02.01.2006")}),
		HTML: true, Keyboard: [][]Button{row}})
	return nil
}

func handleCampaignSince(ctx context.Context, t *Turn, s *Session, in Input) (string, error) {
	d, err := loadCampaignDraft(s)
	if err != nil {
		return "", err
	}
	var since time.Time
	if in.Action != "" {
		for _, sp := range sinceSpans {
			if sp.action == in.Action {
				since = t.Now.AddDate(0, 0, -sp.days)
			}
		}
		if since.IsZero() {
			return "", Outdated()
		}
	} else {
		tz, err := campaigns(t).AdminTimeZone(ctx, t.Actor.UserID)
		if err != nil {
			return "", err
		}
		var ok bool
		if since, ok = parseSince(in.Text, loadZone(tz), t.Now); !ok {
			return "", Invalid("cmp.since_invalid", nil)
		}
	}
	if since.After(t.Now) {
		return "", Invalid("cmp.since_future", nil)
	}
	d.Audience, d.BatchID, d.Source, d.Since = store.AudienceSince, 0, "", since.UTC()
	return guideOn(ctx, t, s, d)
}

// sinceLayouts are the dates "since" accepts without a time (midnight in the admin's
// zone); a date and time goes through ReadWhen.
var sinceLayouts = []struct {
	layout   string
	withYear bool
}{{"2006-01-02", true}, {"02.01.2006", true}, {"02.01.06", true}, {"02.01", false}, {"2.1", false}}

// parseSince reads the start of a since audience: a past date, with or without a
// year (without: the latest such date not after now), or a date and time.
func parseSince(s string, loc *time.Location, now time.Time) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range sinceLayouts {
		at, err := time.ParseInLocation(l.layout, s, loc)
		if err != nil {
			continue
		}
		if !l.withYear {
			at = time.Date(now.In(loc).Year(), at.Month(), at.Day(), 0, 0, 0, 0, loc)
			if at.After(now) {
				at = at.AddDate(-1, 0, 0)
			}
		}
		return at, true
	}
	w, ok := ReadWhen(s, loc, now)
	if ok && w.NextYear { // a date without a year means the past one here
		w.At = w.At.AddDate(-1, 0, 0)
	}
	return w.At, ok
}

// planAudience reads the bots and the audience into p (the batch and its first
// recipient too, for a batch audience) and returns the variables every recipient has
// a value for. It is the audience half of PlanAudienceCampaign.
func (p *CampaignPlan) planAudience(ctx context.Context, st *store.Store, a store.Audience, channelIDs []int64) (map[string]bool, error) {
	if len(channelIDs) == 0 {
		return nil, Invalid("chan.gone", nil)
	}
	for _, id := range channelIDs {
		c, err := st.ChannelGet(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, Invalid("chan.gone", nil)
		} else if err != nil {
			return nil, err
		}
		p.Channels = append(p.Channels, c)
	}
	p.Channel, p.Audience = p.Channels[0], a
	vars := map[string]bool{}
	var err error
	if a.HasBatch() {
		if p.Batch, p.Sample, err = st.BatchGet(ctx, a.BatchID); errors.Is(err, store.ErrNotFound) {
			return nil, Invalid("batch.gone", nil)
		} else if err != nil {
			return nil, err
		}
		for _, c := range p.Batch.Columns {
			vars[c] = true
		}
	}
	if a.Subscribed() {
		for _, v := range store.SubscriberVars {
			vars[v] = true
		}
	}
	if a.Kind != store.AudienceBatch {
		// The preview shows the first one who really gets it, with the profile.
		if p.Sample, err = st.AudienceSample(ctx, a, channelIDs); err != nil {
			return nil, err
		}
	}
	if p.Counts, err = st.AudienceCount(ctx, a, channelIDs); err != nil {
		return nil, err
	}
	opts, err := st.AudienceOptions(ctx, channelIDs, 0)
	if err != nil {
		return nil, err
	}
	p.KnownToBots, p.Reachable = opts.Subscribers > 0, p.Counts.Reachable
	return vars, nil
}

// missingVar is the problem of a template variable without a default that some
// recipients of the audience have no value for.
func (p *CampaignPlan) missingVar(name string) Problem {
	data := i18n.Data{"Var": esc("{{" + name + "}}"), "WithDefault": esc("{{" + name + "|…}}"), "Batch": esc(p.Batch.Name)}
	switch {
	case p.Audience.Kind == store.AudienceChats:
		return Problem{"cmp.warn_missing_var_chats", data}
	case !p.Audience.HasBatch():
		data["Vars"] = "<code>" + strings.Join(store.SubscriberVars, "</code>, <code>") + "</code>"
		return Problem{"cmp.warn_missing_var_subscribers", data}
	}
	return Problem{"cmp.warn_missing_var", data}
}

// audienceName says in words whom a campaign sends to; batch is the batch's name
// for the batch kinds.
func audienceName(t *Turn, a store.Audience, batch string) string {
	switch a.Kind {
	case store.AudienceBatchSubscribers:
		return t.L.T("cmp.aud.name.batch_subscribers", i18n.Data{"Batch": batch})
	case store.AudienceSubscribers:
		return t.L.T("cmp.aud.name.subscribers")
	case store.AudienceSource:
		return t.L.T("cmp.aud.name.source", i18n.Data{"Source": a.Source})
	case store.AudienceSince:
		return t.L.T("cmp.aud.name.since", i18n.Data{"Date": a.Since.Format("2006-01-02 15:04")})
	case store.AudienceChats:
		return t.L.T("cmp.aud.name.chats")
	}
	return batch
}

// campaignAudienceName is a campaign's audience in words, for its card and the list.
func campaignAudienceName(t *Turn, c store.CampaignListItem) string {
	a := store.Audience{Kind: c.Audience, BatchID: c.BatchID, Source: c.AudienceSource}
	if c.AudienceSince != nil {
		a.Since = *c.AudienceSince
	}
	return audienceName(t, a, c.BatchName)
}

// channelsText names the bots of the summary, each with its rate.
func (p *campaignPlan) channelsText(t *Turn) string {
	parts := make([]string, len(p.Channels))
	for i, c := range p.Channels {
		parts[i] = "<b>" + esc(c.Name) + "</b> (@" + esc(c.Username) + "), " + rateText(t, c.RatePerSecond, c.PaidBroadcast)
	}
	return strings.Join(parts, "; ")
}

// rate is the bots' rates together: their lanes send side by side.
func (p *campaignPlan) rate() int {
	r := 0
	for _, c := range p.Channels {
		r += c.RatePerSecond
	}
	return r
}

// paid reports whether any bot sends with paid broadcast.
func (p *campaignPlan) paid() bool {
	return slices.ContainsFunc(p.Channels, func(c store.Channel) bool { return c.PaidBroadcast })
}

// countsText is the summary's line on who is left out and why ("" when nobody is,
// beyond the suppressed count the summary always shows).
func (p *campaignPlan) countsText(t *Turn) string {
	c := p.Counts
	unknown := c.Unknown
	if !p.KnownToBots || !p.Audience.HasBatch() {
		unknown = 0 // a send-only bot's users are another app's to know
	}
	if c.Unsubscribed == 0 && unknown == 0 {
		return ""
	}
	key := "cmp.summary_left_out"
	if p.Audience.Kind == store.AudienceBatch {
		key = "cmp.summary_unknown_tried"
	}
	return t.L.T(key, i18n.Data{"Unsubscribed": t.L.Number(c.Unsubscribed), "Unknown": t.L.Number(unknown)})
}
