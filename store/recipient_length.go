package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// utf16Len is the SQL length of text x in UTF-16 code units, Telegram's unit: one per
// character plus one more for each character outside the Basic Multilingual Plane
// (the regular expression runs only on values that are not pure ASCII).
func utf16Len(x string) string {
	return strings.NewReplacer("X", x).Replace(`(char_length(X) + CASE WHEN octet_length(X) > char_length(X)
		THEN char_length(regexp_replace(X, '[^\U00010000-\U0010FFFF]', '', 'g')) ELSE 0 END)`)
}

// RecipientVarMaxLengths returns the longest value of each variable of batchID's
// recipients, in UTF-16 code units, in one pass over the batch. With
// render.Template.LongestLen it tells whether some recipient's message could be over
// Telegram's limit.
func (s *Store) RecipientVarMaxLengths(ctx context.Context, batchID int64) (map[string]int, error) {
	rows, err := s.db.Query(ctx, `
		SELECT v.key, max(`+utf16Len("v.value")+`)::int
		FROM recipients r CROSS JOIN LATERAL jsonb_each_text(r.vars) v
		WHERE r.batch_id = $1
		GROUP BY v.key`, batchID)
	if err != nil {
		return nil, fmt.Errorf("longest values of batch %d: %w", batchID, err)
	}
	out := map[string]int{}
	var key string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&key, &n}, func() error { out[key] = n; return nil }); err != nil {
		return nil, fmt.Errorf("longest values of batch %d: %w", batchID, err)
	}
	return out, nil
}

// VarLength is how one variable adds to a rendered text's length (render.VarUse).
type VarLength struct {
	Name       string
	Count      int // uses in the template
	DefaultLen int // the default's length, used when the value is empty
}

// RecipientsTooLong lists up to max chat ids (the lowest) of batchID's recipients whose
// message, literal UTF-16 units plus their values (or defaults) for vars, is longer
// than limit, and how many there are in all.
func (s *Store) RecipientsTooLong(ctx context.Context, batchID int64, literal int, vars []VarLength, limit, max int) (ids []int64, total int, err error) {
	names := make([]string, len(vars))
	counts := make([]int32, len(vars))
	defaults := make([]int32, len(vars))
	for i, v := range vars {
		names[i], counts[i], defaults[i] = v.Name, int32(v.Count), int32(v.DefaultLen)
	}
	rows, err := s.db.Query(ctx, `
		SELECT r.chat_id, count(*) OVER () FROM recipients r
		CROSS JOIN LATERAL (
			SELECT coalesce(sum(u.cnt * CASE WHEN coalesce(r.vars->>u.name, '') = '' THEN u.def
			                                 ELSE `+utf16Len("(r.vars->>u.name)")+` END), 0) AS n
			FROM unnest($3::text[], $4::int[], $5::int[]) AS u(name, cnt, def)) l
		WHERE r.batch_id = $1 AND $2 + l.n > $6
		ORDER BY r.chat_id
		LIMIT $7`, batchID, literal, names, counts, defaults, limit, max)
	if err != nil {
		return nil, 0, fmt.Errorf("recipients of batch %d with a message too long: %w", batchID, err)
	}
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&id, &total}, func() error { ids = append(ids, id); return nil })
	if err != nil {
		return nil, 0, fmt.Errorf("recipients of batch %d with a message too long: %w", batchID, err)
	}
	return ids, total, nil
}
