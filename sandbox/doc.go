// Package sandbox is the web chat of Herald's sandbox mode: a small Telegram client in
// the browser for the in-process emulator (package tgemu). The left pane is the admin's
// chat with the management bot, the right pane a recipient's phone and the channel bots'
// counters; both are kept live over server-sent events.
//
// It speaks only to the emulator's user side (ChatWatch, Press, SendText, SendMedia,
// File, BotCounters): Herald's bot, dialogs and delivery engine run unchanged against
// the emulator and never learn that a browser is watching. Message text is rendered to
// HTML here, in Go, with every character escaped (FormatHTML); the page's script only
// places that HTML and turns the composer's formatting into Bot API entities.
package sandbox
