package bot

import "herald/flows"

// Route is one entry of routes.go as the authorization matrix sees it.
type Route struct {
	Kind string // "command" or "callback"
	Name string // command name, or callback prefix
	// Role is the least role allowed to run it; "" when any admin may (the engine's
	// own /cancel and dialog buttons, which check the open dialog instead).
	Role string
}

// Routes lists every command and every callback route of newRoutes, so tests cover
// routes added later without being edited.
func Routes() []Route {
	r := newRoutes()
	flowRoles := map[string]string{}
	for _, f := range flows.Dialogs() {
		flowRoles[f.Name] = f.Role
	}
	var out []Route
	for _, c := range r.commands {
		role := ""
		switch {
		case c.Target.Flow != "":
			role = flowRoles[c.Target.Flow]
		case c.Target.Action != "":
			role = r.roles[c.Target.Action]
		}
		out = append(out, Route{Kind: "command", Name: c.Name, Role: role})
	}
	for name, role := range r.roles {
		out = append(out, Route{Kind: "callback", Name: name, Role: role})
	}
	out = append(out, Route{Kind: "callback", Name: "f"}) // dialog buttons
	return out
}

// Idle reports whether no update is queued or being handled: a callback is answered
// before its replies are sent, so tests wait for this after the answer.
func (b *Bot) Idle() bool {
	b.dispatch.mu.Lock()
	defer b.dispatch.mu.Unlock()
	return len(b.dispatch.chats) == 0 && len(b.strangers) == 0
}
