// Package bench is `herald bench`: repeatable measurements of Herald's delivery engine,
// import path and management bot against the Telegram emulator, on a real PostgreSQL.
//
// Shape: the parent process (Run) owns the database server (the embedded cluster, or
// the server of DATABASE_URL) and creates one fresh, migrated database per scenario;
// each scenario runs in a child process (`herald bench --child NAME`), so its CPU time
// (getrusage self) and peak RSS (VmHWM) are that scenario's alone. A scenario starts
// the emulator as a child of its own (`herald emulator …`), so the emulator's CPU is
// never counted as Herald's. The child prints one JSON Result; the parent prints the
// table (or the JSON lines with --json).
//
// Every scenario goes through the code paths a campaign uses in production: campaigns
// are created and confirmed like the wizard does (store.CampaignCreate plus
// queue.StartCampaignArgs in one transaction), River runs the start job, the lanes, the
// reporter and maintenance, and outcomes go through the store. The one switch is
// queue.DeliveryConfig.Unpaced in the ceiling scenario (the engine's raw capacity with
// the channel rate lifted); adherence runs paced. Bench writes no SQL of its own: its
// set-up and checks are store methods (the few only it needs are in store/bench.go).
// The baseline (one River job per message) sends through the lanes' own send path
// (queue.TextSender), so ceiling ÷ baseline compares designs; baseline_telego sends
// through telego's generic path. The intake scenario runs channelbot.Intake (managed
// bots' updates) with River and the management bot beside it, as `herald run` does.
// See BENCHMARKS.md for the figures.
package bench
