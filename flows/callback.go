package flows

import (
	"strconv"
	"strings"
)

// Callback data is at most 64 bytes (Telegram's limit) and has the form
//
//	f:<session version, base 36>:<action>   a button of the current dialog step
//	<action name>:<argument>                a stateless screen (menus, lists, cards)
//
// The version makes a press on an outdated dialog keyboard detectable; screens check
// the object named by their argument instead. Anything unparseable is treated as
// outdated and changes nothing.
const (
	flowPrefix      = "f"
	maxCallbackData = 64
)

// FlowCallback encodes a dialog button.
func FlowCallback(version int, action string) string {
	return flowPrefix + ":" + strconv.FormatInt(int64(version), 36) + ":" + action
}

// ScreenCallback encodes a stateless button handled by the action registered as name.
func ScreenCallback(name, arg string) string { return name + ":" + arg }

func parseFlowCallback(rest string) (version int, action string, ok bool) {
	v, action, ok := strings.Cut(rest, ":")
	if !ok || action == "" {
		return 0, "", false
	}
	n, err := strconv.ParseInt(v, 36, 32)
	if err != nil || n < 0 {
		return 0, "", false
	}
	return int(n), action, true
}
