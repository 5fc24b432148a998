package importer_test

import (
	"errors"
	"fmt"
	"strings"

	"herald/importer"
)

func ExampleOpen() {
	file := "Telegram ID;Имя;Город\n101;Анна;Москва\n102;Борис;\n101;Анна again;\n@vera;Вера;Казань\n"
	rd, err := importer.Open(strings.NewReader(file), importer.Options{MaxBytes: importer.MaxFileSize})
	if err != nil {
		var ie *importer.Error
		if errors.As(err, &ie) {
			fmt.Println("rejected:", ie.Code) // the dialog translates ie.Code
		}
		return
	}
	defer rd.Close()
	for rd.Next() {
		fmt.Printf("%d %s\n", rd.ChatID(), rd.Vars())
	}
	if err := rd.Err(); err != nil {
		fmt.Println("failed:", err)
		return
	}
	sum := rd.Summary()
	fmt.Printf("imported %d, duplicates %d, invalid %d, columns %v\n", sum.Imported, sum.Duplicates, sum.Invalid, sum.Columns)
	for _, bad := range sum.InvalidSample {
		fmt.Printf("line %d: %s (%q)\n", bad.Line, bad.Reason, bad.Value)
	}
	// Output:
	// 101 {"имя":"Анна","город":"Москва"}
	// 102 {"имя":"Борис","город":""}
	// imported 2, duplicates 1, invalid 1, columns [имя город]
	// line 5: not_numeric ("@vera")
}

func ExampleOpen_noIDColumn() {
	_, err := importer.Open(strings.NewReader("name,email\nAnn,a@example.com\n"), importer.Options{})
	var ie *importer.Error
	if errors.As(err, &ie) && ie.Code == importer.CodeNoIDColumn {
		fmt.Println("columns found:", ie.Found)
		fmt.Println("accepted, e.g.:", ie.Accepted[:4])
	}
	// Output:
	// columns found: [name email]
	// accepted, e.g.: [chat_id user_id telegram_id tg_id]
}
