// Package flows holds the management bot's dialogs and screens, independent of
// Telegram I/O: a handler gets a *Turn (who acts, in which chat and language, the
// transaction-bound Store) and queues Replies; package bot sends them after the
// transaction commits.
//
// # Two kinds of handlers
//
// A screen (Action) is stateless: a menu, a list page, a card, a confirmation. Its
// buttons carry "<action>:<arg>" (≤ 64 bytes) and it re-checks the object named by arg,
// so an old button either still makes sense or answers "not found".
//
// A dialog (Definition) collects input over several steps. Its FSM state and its draft
// live in dialog_sessions, so it survives restarts and moves between replicas. Each
// update takes the chat's transaction lock, runs one step and saves
// the new state with a new version; dialog buttons carry "f:<version>:<action>", and a
// press whose version is not the session's is answered "this menu is outdated".
// /cancel, Back, Cancel, "drop the draft?" on a new command, and expiry are the
// engine's job: a flow never handles them.
//
// # Adding a dialog
//
// Write a constructor returning *Definition in a file of its own:
//
//	func ChannelAdd() *Definition {
//		return &Definition{
//			Name: "chan_add", Role: store.RoleAdmin, Initial: "token",
//			Events: []fsm.EventDesc{{Name: "verified", Src: []string{"token"}, Dst: "rate"}},
//			Steps: map[string]*Step{
//				"token": {Prompt: promptToken, Handle: handleToken},
//				"rate":  {Prompt: promptRate, Handle: handleRate, Back: "token"},
//			},
//		}
//	}
//
// Prompt queues the question (t.Reply, t.Say) with buttons from s.Button(text, action).
// Handle validates the Input and returns an event of Events, Stay or Done. On wrong
// input it returns Invalid("key", data): the engine shows the text with the step's buttons
// and waits for corrected input.
// For a button it does not know it returns Outdated(). Keep the draft in a struct of
// your own (s.Load(&d), change it, s.Save(d)), and write the result (through
// your store interface) and t.Audit(...): they commit together with the session.
//
// Then add every text to i18n/locales/en.json and ru.json (plural forms one/other in
// English, one/few/many/other in Russian) plus "flow.<name>" naming the dialog; list
// the constructor in bot/routes.go with a command or an action that starts it
// (t.Start(name, draft)). Declare the store methods it uses as a small interface
// (see stores.go), get it with StoreAs[yourStore](t), and add it to the compile-time
// check in stores.go.
// NewEngine checks the definition at start-up (every state has a step, every event
// and Back target exists).
//
// # Adding a screen or a callback route
//
// Write func(ctx, *Turn, arg string) error, give it a short constant name (it is the
// callback prefix, so keep it to 2–4 letters, and never "f"), and add it to the actions
// map in bot/routes.go with the least role allowed (viewer for looking, admin for
// changing, owner for admins and audit). Buttons pointing at it are built with
// ScreenCallback(name, arg). Set Reply.Edit for menu navigation so the pressed message
// is replaced instead of a new one being sent; use t.Notice for a short toast.
//
// Errors: return *Error (Invalid, NotFound, Forbidden, Conflict); anything else is
// internal: bot logs it with a reference id and apologises to the admin. A step that
// answers a button without moving on (the wizard's "Send test to me") returns Note.
//
// # Services
//
// What a flow needs besides the database is a small interface in services.go
// (ChannelBots, ChatOps, FileFetcher, CampaignStarter, CampaignControls, TokenBox),
// reached with t.Services(). Package bot implements the Telegram ones itself; serve.go
// supplies the secrets box and River's starter and controls. flows never sees a bot
// token in clear text outside one step (channel registration seals it at once), and
// never an HTTP or pgx type: CampaignStarter gets the turn's transaction as
// store.DBTX.
package flows
