package queue

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/mymmrac/telego"

	"herald/store"
)

// The report's file is a CSV a person opens in a spreadsheet (issue 18.7). It stays
// a CSV rather than XLSX: it is written row by row from the database, whatever the
// campaign's size, and scripts and every spreadsheet read it. A Russian-locale Excel
// splits columns on ';' and reads UTF-8 only after a BOM, so a ru report uses both;
// an en report keeps ',' (the en-locale separator) and the BOM too, for the names.

// utf8BOM tells spreadsheets the file is UTF-8.
const utf8BOM = "\uFEFF"

// CSVSeparator is the report CSV's field separator for lang.
func CSVSeparator(lang string) rune {
	if lang == "ru" {
		return ';'
	}
	return ','
}

// unsentCSV is the report's file: chat_id, the batch's own columns, status and
// reason, headers and words in lang.
func (e *engine) unsentCSV(ctx context.Context, id int64, lang string) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeOutcomesCSV(ctx, e.store, e.texts, &buf, id, lang, true); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeOutcomesCSV writes campaign id's recipients (only those not sent, or all of
// them) to out row by row as they come from the database: the report's file and the
// export of every outcome (Exports) share one format.
func writeOutcomesCSV(ctx context.Context, st *store.Store, tx *texts, out io.Writer, id int64, lang string, unsentOnly bool) error {
	lang = tx.catalog.Lang(lang)
	cols, err := st.CampaignBatchColumns(ctx, id)
	if err != nil {
		return err
	}
	cols = slices.DeleteFunc(slices.Clone(cols), func(c string) bool { return strings.EqualFold(c, "chat_id") })
	extras, err := campaignExtras(ctx, st, id, cols)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(out, utf8BOM); err != nil {
		return err
	}
	w := csv.NewWriter(out)
	w.Comma = CSVSeparator(lang)
	header := append(append([]string{"chat_id"}, cols...), extras.header(tx, lang)...)
	_ = w.Write(append(header, tx.t(lang, "delivery.csv.status", nil), tx.t(lang, "delivery.csv.reason", nil)))
	write := func(chatID int64, vars map[string]string, sender store.Sender, status, reason string) error {
		row := make([]string, 0, len(header)+2)
		row = append(row, strconv.FormatInt(chatID, 10))
		for _, c := range cols {
			row = append(row, vars[c])
		}
		row = append(row, extras.values(sender)...)
		return w.Write(append(row, tx.t(lang, "delivery.csv.status."+status, nil), reason))
	}
	if unsentOnly {
		err = st.DeliveriesUnsentEach(ctx, id, func(d store.UnsentDelivery) error {
			return write(d.ChatID, d.Vars, d.Sender, d.Status, tx.plainReason(lang, d.Status, d.Error))
		})
	} else {
		err = st.DeliveriesEach(ctx, id, func(d store.DeliveryRecord) error {
			reason := ""
			if d.Error != "" || !slices.Contains([]string{store.DeliverySent, store.DeliveryPending, store.DeliveryInflight}, d.Status) {
				reason = tx.plainReason(lang, d.Status, d.Error)
			}
			return write(d.ChatID, d.Vars, d.Sender, d.Status, reason)
		})
	}
	if err != nil {
		return err
	}
	w.Flush()
	return w.Error()
}

// apiReasons map the Bot API's descriptions of a refused send to plain words; the
// first match wins.
var apiReasons = []struct{ substr, key string }{
	{"blocked by the user", "delivery.csv.why.blocked"},
	{"can't initiate conversation", "delivery.csv.why.not_started"},
	{"deactivated", "delivery.csv.why.deactivated"},
	{"chat not found", "delivery.csv.why.chat_not_found"},
	{"message too long for this recipient", "delivery.csv.why.too_long"},
	{"kicked", "delivery.csv.why.kicked"},
	{"too many requests", "delivery.csv.why.flood"},
}

// plainReason says in lang why a recipient did not get the message, instead of the
// raw API text stored in deliveries.error; an unknown text is kept after a plain
// prefix, so nothing is lost.
func (t *texts) plainReason(lang, status, stored string) string {
	if strings.HasPrefix(stored, "uncertain:") {
		return t.reasonText(lang, stored)
	}
	lower := strings.ToLower(stored)
	for _, r := range apiReasons {
		if strings.Contains(lower, r.substr) {
			return t.t(lang, r.key, nil)
		}
	}
	switch {
	case status == store.DeliveryCancelled:
		return t.t(lang, "delivery.csv.why.cancelled", nil)
	case stored == "":
		return t.t(lang, "delivery.reason.unrecorded", nil)
	}
	return t.t(lang, "delivery.csv.why.other", map[string]any{"Text": stored})
}

// The final report keeps buttons (issue 18): open the campaign's card, send again to
// the recipients it is safe to resend to (store.CampaignResendUnreached says which,
// and flows asks once with the count), and make the unreached a new recipient list.
// They are flows' screens; the bot routes them, and a test checks the prefixes agree.
const (
	ReportOpenPrefix   = "kq" // arg: campaign id
	ReportResendPrefix = "kr" // asks first
	ReportListPrefix   = "ku"
)

// addReportButtons appends the report's own rows to markup.
func (e *engine) addReportButtons(ctx context.Context, lang string, c store.Campaign, counts store.DeliveryCounts,
	markup *telego.InlineKeyboardMarkup) error {
	id := strconv.FormatInt(c.ID, 10)
	button := func(prefix, text string) []telego.InlineKeyboardButton {
		return []telego.InlineKeyboardButton{{Text: text, CallbackData: prefix + ":" + id}}
	}
	if c.Status == store.CampaignCompleted && counts.Failed > 0 {
		n, err := e.store.DeliveryResendableCount(ctx, c.ID)
		if err != nil {
			return err
		}
		if n > 0 {
			markup.InlineKeyboard = append(markup.InlineKeyboard,
				button(ReportResendPrefix, e.texts.t(lang, "delivery.button.resend_unreached", nil, int(n))))
		}
	}
	if unsent := counts.Total() - counts.Sent; unsent > 0 {
		markup.InlineKeyboard = append(markup.InlineKeyboard,
			button(ReportListPrefix, e.texts.t(lang, "delivery.button.unreached_list", nil, int(unsent))))
	}
	markup.InlineKeyboard = append(markup.InlineKeyboard, button(ReportOpenPrefix, e.texts.t(lang, "delivery.button.open", nil)))
	return nil
}
