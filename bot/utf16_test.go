package bot_test

import (
	"unicode/utf16"

	"github.com/mymmrac/telego"
)

func utf16Units(s string) []uint16 { return utf16.Encode([]rune(s)) }

func decodeUTF16(u []uint16) []rune { return utf16.Decode(u) }

func telegoCommand(name, desc string) telego.BotCommand {
	return telego.BotCommand{Command: name, Description: desc}
}
