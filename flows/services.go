package flows

// Services are what flows use besides the database: each field is a small interface
// declared here by the flow that needs it (a River enqueuer for the campaign wizard, a
// channel-token verifier for channel registration, the secrets box…), filled in by
// the wiring in serve.go through bot.Config. Steps reach them with t.Services().
// Empty for now: the template and admin dialogs need nothing but the store.
type Services struct{}
