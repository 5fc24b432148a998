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
//	func dialogChannelAdd() *Definition {
//		return &Definition{
//			Name: "chan_add", Role: store.RoleAdmin, Initial: "token",
//			Events: []fsm.EventDesc{{Name: "verified", Src: []string{"token"}, Dst: "rate"}},
//			Steps: map[string]*Step{
//				"token": {Prompt: promptToken, Prepare: prepareToken, Handle: handleToken},
//				"rate":  {Prompt: promptRate, Handle: handleRate, Back: "token"},
//			},
//		}
//	}
//
// and list it in Dialogs (routes.go). Prompt queues the question (t.Reply, t.Say) with
// buttons from s.Button(text, action). Handle validates the Input and returns an event
// of Events, Stay or Done. On wrong input it returns Invalid("key", data): the engine
// shows the text with the step's buttons and waits for corrected input. For a button
// it does not know it returns Outdated(). Keep the draft in a struct of your own
// (s.Load(&d), change it, s.Save(d)), and write the result (through your store
// interface) and t.Audit(...): they commit together with the session.
//
// Then add every text to i18n/locales/en.json and ru.json (plural forms one/other in
// English, one/few/many/other in Russian) plus "flow.<name>" naming the dialog, and a
// command or a screen in bot/routes.go that starts it (t.Start(name, draft)).
// NewEngine checks the definition at start-up (every state has a step, every event
// and Back target exists).
//
// # Sub-dialogs
//
// A step may open another dialog for a missing piece and get its result back
// (subdialog.go): it returns s.Call(flow, state, draft, resume, intro); the child runs
// as usual, names what it made with s.Return(id) before Done, and the caller's
// Definition.Resume gets that id (0 after Cancel) and returns the event to fire from
// the resume state. The caller waits inside the child's session row, so nothing
// else changes; a child knows it runs for a caller (s.Nested) and may ask less. The
// campaign wizard makes a missing template, list or sender bot this way
// (campaign_guided.go).
//
// # Nothing slow inside the transaction
//
// Each update runs in one transaction that holds the chat's lock and a connection of
// the pool. Whatever talks to the network (a file download, getMe, a test send) or
// calls a service that commits on its own (queue.Controls) goes into the step's or
// screen's Prepare, which the engine runs first, outside any transaction, on the
// pool-bound store (read-only use). What Prepare found travels in the Input (or
// t.prepared for a screen) to Handle/Run inside the transaction; an *Error from
// Prepare is shown like one from Handle. This is one mechanism in the engine rather
// than care in every flow, and an acceptance test runs every dialog with a pool of
// two connections. The engine also puts a deadline on every update (Config.Timeout,
// longer for uploads) and refuses text PostgreSQL cannot store (U+0000, invalid
// UTF-8) before any step sees it.
//
// # The store a flow sees
//
// The Turn carries the *store.Store of the update (the pool during Prepare, the
// transaction afterwards), unexported. Each part of flows declares the few store
// methods it uses as a small interface (stores.go, or next to the flow) and an
// accessor returning t.st as that interface: a plain conversion the compiler checks,
// so a missing method breaks the build instead of panicking in a chat. The narrow
// interfaces document what each flow touches; the engine itself uses the store's
// dialog methods directly. (Passing each flow its interface in a constructor would
// not work: the transaction exists only per update.)
//
// # Adding a screen or a callback route
//
// Write func(ctx, *Turn, arg string) error (unexported), give it a short constant
// name (it is the callback prefix, so keep it to 2–4 letters, and never "f"), add it
// to screens() in routes.go, and give the prefix its least role in bot/routes.go
// (viewer for looking, admin for changing, owner for admins and audit): NewEngine
// refuses a screen without a role and a role without a screen. flows exports only
// the names; bot/routes.go lists every command and prefix with its role. Buttons
// pointing at a screen are built with ScreenCallback(name, arg). Set Reply.Edit for
// menu navigation so the pressed message is replaced instead of a new one being
// sent; use t.Notice for a short toast. A screen that destroys something asks first
// (a second prefix acts: tx/ty, bx/by, cx/cy, kc/kk for Cancel and Resend).
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
// supplies the secrets box and River's starter and controls, built before the bot
// (construction order, no late binding). flows never sees a bot token in clear text
// outside one step (channel registration seals it at once), and never an HTTP or pgx
// type: CampaignStarter gets the turn's transaction as a *store.Store.
package flows
