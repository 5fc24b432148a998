package queue

import (
	"context"
	"slices"
	"strings"

	"herald/store"
)

// The outcomes CSV of a campaign to a bot's subscribers has their profile fields as
// Telegram sent them to the bot (first name, last name, username, language; nothing
// fetched), after the list's own columns and without those the list already has; a
// campaign through several bots has, per row, the bot that sent (or sends) it.
type exportExtras struct {
	profile []int // indexes of store.SubscriberVars (and store.Sender.Profile) written
	bot     bool
}

// campaignExtras decides the extra columns of campaign id's CSV; cols are its list's.
func campaignExtras(ctx context.Context, st *store.Store, id int64, cols []string) (exportExtras, error) {
	var x exportExtras
	c, err := st.CampaignItemGet(ctx, id)
	if err != nil {
		return x, err
	}
	if (store.Audience{Kind: c.Audience}).Subscribed() {
		for i, v := range store.SubscriberVars {
			if !slices.ContainsFunc(cols, func(c string) bool { return strings.EqualFold(c, v) }) {
				x.profile = append(x.profile, i)
			}
		}
	}
	bots, err := st.CampaignChannelIDs(ctx, id)
	x.bot = len(bots) > 1
	return x, err
}

// header is the extra columns' labels in lang.
func (x exportExtras) header(tx *texts, lang string) []string {
	var h []string
	for _, i := range x.profile {
		h = append(h, tx.t(lang, "delivery.csv.profile."+store.SubscriberVars[i], nil))
	}
	if x.bot {
		h = append(h, tx.t(lang, "delivery.csv.bot", nil))
	}
	return h
}

// values are the extra columns of a row.
func (x exportExtras) values(s store.Sender) []string {
	var v []string
	for _, i := range x.profile {
		v = append(v, s.Profile[i])
	}
	if x.bot {
		v = append(v, s.Bot)
	}
	return v
}
