package flows

import (
	"context"
	"errors"
	"herald/i18n"
	"herald/store"
	"strconv"
	"strings"
)

// The batch screens: list, card, rename and delete (which asks first).

// showBatches lists batches, PageSize per page.
func showBatches(ctx context.Context, t *Turn, arg string) error {
	page, _ := strconv.Atoi(arg)
	page = max(page, 0)
	list, total, err := batches(t).BatchList(ctx, page*PageSize, PageSize)
	if err != nil {
		return err
	}
	text := t.L.N("batch.list_header", total)
	if total == 0 {
		text = t.L.T("batch.list_empty")
	}
	var rows [][]Button
	for _, b := range list {
		rows = append(rows, []Button{{Text: "👥 " + b.Name + " · " + strconv.Itoa(b.RecipientCount), Data: ScreenCallback(ActBatchView, itoa(b.ID))}})
	}
	rows = append(rows, pager(t, ActBatches, page, total)...)
	if t.Actor.CanChange() {
		rows = append(rows, []Button{{Text: t.L.T("button.new_batch"), Data: ScreenCallback(ActBatchNew, "")}})
	}
	rows = append(rows, backToMenu(t)...)
	t.Reply(Reply{Text: text, HTML: true, Edit: true, Keyboard: rows})
	return nil
}

// startBatchNew opens the upload dialog.
func startBatchNew(_ context.Context, t *Turn, _ string) error {
	t.Start(FlowBatchNew, nil)
	return nil
}

func batchArg(ctx context.Context, t *Turn, arg string) (store.Batch, *store.Recipient, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return store.Batch{}, nil, NotFound("batch.gone")
	}
	b, sample, err := batches(t).BatchGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return b, nil, NotFound("batch.gone")
	}
	return b, sample, err
}

// showBatch is a batch's card, with a sample recipient.
func showBatch(ctx context.Context, t *Turn, arg string) error {
	b, sample, err := batchArg(ctx, t, arg)
	if err != nil {
		return err
	}
	sampleText := t.L.T("batch.no_sample")
	if sample != nil {
		lines := []string{t.L.T("batch.sample_id", i18n.Data{"ID": sample.ChatID})}
		for _, c := range b.Columns {
			lines = append(lines, "<code>{{"+esc(c)+"}}</code> = "+esc(clipRunes(sample.Vars[c], 60)))
		}
		sampleText = strings.Join(lines, "\n")
	}
	source := b.SourceName
	if source == "" {
		source = t.L.T("batch.pasted")
	}
	created, err := adminDate(ctx, t, b.CreatedAt)
	if err != nil {
		return err
	}
	text := t.L.T("batch.card", i18n.Data{"Name": esc(b.Name), "Recipients": t.L.N("batch.n_recipients", b.RecipientCount),
		"Duplicates": b.DuplicateCount, "Invalid": b.InvalidCount, "Columns": columnList(t, b.Columns),
		"Source": esc(source), "Created": created, "Sample": sampleText})
	id := itoa(b.ID)
	var rows [][]Button
	if t.Actor.CanChange() {
		rows = append(rows,
			[]Button{{Text: t.L.T("button.rename"), Data: ScreenCallback(ActBatchRename, id)},
				{Text: t.L.T("button.delete"), Data: ScreenCallback(ActBatchDelete, id)}})
	}
	rows = append(rows, []Button{{Text: t.L.T("button.to_list"), Data: ScreenCallback(ActBatches, "0")}})
	t.Reply(Reply{Text: text, HTML: true, Edit: true, Keyboard: rows})
	return nil
}

// startBatchRename opens the rename dialog.
func startBatchRename(ctx context.Context, t *Turn, arg string) error {
	b, _, err := batchArg(ctx, t, arg)
	if err != nil {
		return err
	}
	t.Start(FlowBatchRename, batchDraft{ID: b.ID, Name: b.Name})
	return nil
}

// askDeleteBatch asks for confirmation.
func askDeleteBatch(ctx context.Context, t *Turn, arg string) error {
	b, _, err := batchArg(ctx, t, arg)
	if err != nil {
		return err
	}
	id := itoa(b.ID)
	askOnce(t, t.L.T("batch.delete_question", i18n.Data{"Name": esc(b.Name), "Recipients": t.L.N("batch.n_recipients", b.RecipientCount)}),
		"button.delete_yes", ScreenCallback(ActBatchDeleteConfirm, id), ScreenCallback(ActBatchView, id))
	return nil
}

// deleteBatch deletes after confirmation; refused while an unfinished campaign uses it.
func deleteBatch(ctx context.Context, t *Turn, arg string) error {
	b, _, err := batchArg(ctx, t, arg)
	if err != nil {
		return err
	}
	var inUse *store.InUseError
	switch err := batches(t).BatchDelete(ctx, b.ID); {
	case errors.As(err, &inUse):
		return Conflict("batch.in_use", i18n.Data{"Name": esc(b.Name), "Campaigns": campaignIDs(inUse.CampaignIDs)})
	case errors.Is(err, store.ErrNotFound):
		return NotFound("batch.gone")
	case err != nil:
		return err
	}
	if err := t.Audit(ctx, "batch.deleted", batchTarget(b.ID), map[string]any{"name": b.Name, "recipients": b.RecipientCount}); err != nil {
		return err
	}
	t.Notice(t.L.T("batch.deleted", i18n.Data{"Name": b.Name}))
	return showBatches(ctx, t, "0")
}

func campaignIDs(ids []int64) string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, "#"+itoa(id))
	}
	return strings.Join(out, ", ")
}
