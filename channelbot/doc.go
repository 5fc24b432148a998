// Package channelbot receives the updates of channel bots in managed mode and keeps
// their audience: the private chats that started a bot (subscribers, with the /start
// payload as their source), who blocked it or sent /stop, and the groups and channels
// it was added to. It answers /start with the welcome template the admin picked and
// /stop with a one-line confirmation, in the user's language.
//
// # One poller per bot
//
// Telegram allows one getUpdates consumer per token (409 otherwise), so every Herald
// process sharing the database runs an Intake, and each managed bot is polled by the
// process that holds its advisory lock: the election the management bot uses, with
// all of a process's bot locks on one connection (store.LockSet) instead of one
// connection per bot. The Intake looks at the channels every Config.Rescan: a bot
// switched to managed is taken by whichever process locks it first, a bot switched to
// send-only, removed or given another token is stopped and unlocked. A process that
// dies loses its connection and so its locks; another takes the bots over at its next
// look.
//
// Between two looks the lock connection LISTENs for the store's announcement of a
// channel change (NOTIFY on commit, from any process), so a mode, rate or welcome set
// on the card applies at once rather than at the next Rescan.
//
// # Webhook mode
//
// With Config.WebhookURL, Telegram posts each managed bot's updates to Herald's HTTP
// server (webhook.go): any replica receives, the election only decides who sets and
// deletes the bot's webhook, and an update is answered 200 once it is committed.
//
// # Nothing lost, nothing slow
//
// A poller hands each getUpdates answer to the writer and asks for the next updates
// (which confirms these to Telegram) only once the writer has committed them: a
// poller that dies before that leaves them to the next one. The writer commits what
// every poller of the process handed it in one transaction of a few array statements
// (store.IntakeWrite) — group commit: while one write runs, the next batch gathers, so
// batches grow with the load and a quiet bot's update is written at once. Replies go
// out after the write, from a bounded queue per bot, paced at the bot's rate.
package channelbot
