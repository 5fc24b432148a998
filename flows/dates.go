package flows

import (
	"context"
	"time"
)

// adminDate writes at as the acting admin reads dates: in their language and time
// zone, with the zone's name («1 декабря 2027, 18:30 МСК», "1 December 2027, 18:30
// MSK"; UTC until they choose a zone).
func adminDate(ctx context.Context, t *Turn, at time.Time) (string, error) {
	tz, err := campaigns(t).AdminTimeZone(ctx, t.Actor.UserID)
	if err != nil {
		return "", err
	}
	return t.L.DateTime(at, loadZone(tz)), nil
}
