package i18n_test

import (
	"fmt"
	"time"

	"herald/i18n"
)

// Dates in the admin's language and zone, the zone named as people say it.
func ExampleLocalizer_DateTime() {
	c, _ := i18n.New("en")
	at := time.Date(2027, 12, 1, 15, 30, 0, 0, time.UTC)
	for _, lang := range []string{"ru", "en"} {
		l := c.For(lang)
		fmt.Println(l.DateTime(at, i18n.Location("Europe/Moscow")))
		fmt.Println(l.DateTime(at, i18n.Location("Asia/Almaty")))
		fmt.Println(l.DateTime(at, i18n.Location("Asia/Kolkata")))
		fmt.Println(l.DateTime(at, i18n.Location("Europe/Berlin")))
		fmt.Println(l.DateTime(at, i18n.Location("")))
		fmt.Println(l.DateTime(at, i18n.Location("No/Such_Zone")))
		fmt.Println(l.DateTime(at, i18n.Location("Asia/Kathmandu")))
		fmt.Println(l.DateTime(at, time.FixedZone("+03:00", 3*3600)))
		fmt.Println(l.DateTime(at, time.FixedZone("UTC-03:30", -3*3600-1800)))
		fmt.Println(l.Day(at, i18n.Location("Pacific/Kiritimati")))
	}
	// Output:
	// 1 декабря 2027, 18:30 МСК
	// 1 декабря 2027, 20:30 UTC+5
	// 1 декабря 2027, 21:00 IST
	// 1 декабря 2027, 16:30 CET
	// 1 декабря 2027, 15:30 UTC
	// 1 декабря 2027, 15:30 UTC
	// 1 декабря 2027, 21:15 UTC+5:45
	// 1 декабря 2027, 18:30 UTC+3
	// 1 декабря 2027, 12:00 UTC-3:30
	// 2 декабря 2027
	// 1 December 2027, 18:30 MSK
	// 1 December 2027, 20:30 UTC+5
	// 1 December 2027, 21:00 IST
	// 1 December 2027, 16:30 CET
	// 1 December 2027, 15:30 UTC
	// 1 December 2027, 15:30 UTC
	// 1 December 2027, 21:15 UTC+5:45
	// 1 December 2027, 18:30 UTC+3
	// 1 December 2027, 12:00 UTC-3:30
	// 2 December 2027
}
