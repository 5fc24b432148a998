package queue_test

import (
	"testing"

	"herald/queue"
)

// FuzzParseControlCallback decodes arbitrary callback data as a campaign control
// button: never a panic; what decodes names a known action and a positive campaign id,
// and the canonical encoding of that decodes the same way.
func FuzzParseControlCallback(f *testing.F) {
	f.Add(queue.ControlCallbackData(queue.ActionPause, 42))
	f.Add("cmp:resend:9223372036854775807")
	f.Add("cmp:cancel:-1")
	f.Add("cmp:pause:")
	f.Add("cmp::1")
	f.Add("cmp:pause:1:2")
	f.Add("cmp:pause:+7")
	f.Fuzz(func(t *testing.T, data string) {
		action, id, ok := queue.ParseControlCallback(data)
		if !ok {
			return
		}
		if id <= 0 {
			t.Fatalf("%q decoded to campaign %d", data, id)
		}
		switch action {
		case queue.ActionPause, queue.ActionResume, queue.ActionCancel, queue.ActionResend:
		default:
			t.Fatalf("%q decoded to unknown action %q", data, action)
		}
		a2, id2, ok2 := queue.ParseControlCallback(queue.ControlCallbackData(action, id))
		if !ok2 || a2 != action || id2 != id {
			t.Fatalf("%q → (%s, %d) does not survive re-encoding", data, action, id)
		}
		if len(queue.ControlCallbackData(action, id)) > 64 {
			t.Fatalf("control data for %s %d exceeds 64 bytes", action, id)
		}
	})
}
