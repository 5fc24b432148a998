package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
)

// findChromium returns Debian's chromium (or another Chrome) or "" when none is
// installed. HERALD_CHROME names a binary explicitly.
func findChromium() string {
	if p := os.Getenv("HERALD_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// screenshotDir is where the browser test leaves its screenshots: HERALD_SCREENSHOTS
// if set (to refresh docs/sandbox-*.png), a temporary directory otherwise.
func screenshotDir(t *testing.T) string {
	if dir := os.Getenv("HERALD_SCREENSHOTS"); dir != "" {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		return dir
	}
	return t.TempDir()
}

// browserPage drives the sandbox's web chat in headless Chromium.
type browserPage struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

func (p *browserPage) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	require.NoError(p.t, chromedp.Do(p.ctx, actions...))
}

func (p *browserPage) eval(js string) string {
	p.t.Helper()
	out, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	require.NoError(p.t, err, js)
	return out
}

// messageCount is how many bubbles the admin's chat shows.
func (p *browserPage) messageCount() int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chat .msg").length`))
	require.NoError(p.t, err)
	return n
}

// waitFor waits until an element matching sel (from index from on) contains substr,
// and returns its HTML.
func (p *browserPage) waitFor(sel string, from int, substr string) string {
	p.t.Helper()
	js := fmt.Sprintf(`(() => { const all = [...document.querySelectorAll(%q)].slice(%d);
		const m = all.find((m) => m.textContent.includes(%q)); return m ? m.innerHTML : ""; })()`, sel, from, substr)
	deadline := time.Now().Add(patient(45 * time.Second))
	for time.Now().Before(deadline) {
		if html := p.eval(js); html != "" {
			return html
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.screenshot("failure")
	p.t.Fatalf("nothing with %q in %s; the composer holds %q; the chat shows:\n%s", substr, sel,
		p.eval(`document.getElementById("composer").innerText`), p.eval(`document.getElementById("chat").innerText`))
	return ""
}

// next waits for the bot's next message containing substr, like a person reading.
func (p *browserPage) next(substr string, from int) string {
	p.t.Helper()
	return p.waitFor("#chat .msg", from, substr)
}

// type enters text in the composer and sends it with Enter.
func (p *browserPage) send(text string) int {
	p.t.Helper()
	mark := p.messageCount()
	p.do(chromedp.Focus(chromedp.CSS("#composer")), chromedp.SendKeys(chromedp.CSS("#composer"), text), chromedp.KeyEvent(kb.Enter))
	return mark
}

// press clicks the newest button whose label contains label and waits for the bot to
// take the press (the button's spinner ends).
func (p *browserPage) press(label string) int {
	p.t.Helper()
	mark := p.messageCount()
	ok := p.eval(fmt.Sprintf(`(() => { const msgs = [...document.querySelectorAll("#chat .msg.in")].reverse();
		for (const m of msgs) for (const b of m.querySelectorAll("button.kb-btn"))
			if (b.textContent.includes(%q)) { b.click(); return "yes"; }
		return ""; })()`, label))
	require.Equal(p.t, "yes", ok, "no button %q", label)
	return mark
}

// hasButton reports whether the newest message with buttons has one whose label
// contains label.
func (p *browserPage) hasButton(label string) bool {
	p.t.Helper()
	return p.eval(fmt.Sprintf(`(() => { const m = [...document.querySelectorAll("#chat .msg.in")].reverse()
			.find((m) => m.querySelector("button.kb-btn"));
		return m && [...m.querySelectorAll("button.kb-btn")].some((b) => b.textContent.includes(%q)) ? "yes" : ""; })()`, label)) == "yes"
}

func (p *browserPage) screenshot(name string) {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	require.NoError(p.t, err)
	path := filepath.Join(p.dir, "sandbox-"+name+".png")
	require.NoError(p.t, os.WriteFile(path, png, 0o644))
	p.t.Logf("screenshot %s", path)
}

// TestSandboxInTheBrowser runs the whole story in the web chat: /start, a template with
// bold text and {{first_name}}, a CSV upload, a campaign on the 30/s channel bot
// confirmed with a button, its progress message edited live into the final report
// with its CSV, then a recipient's phone showing the message as they got it.
func TestSandboxInTheBrowser(t *testing.T) {
	chrome := findChromium()
	if chrome == "" {
		t.Skip("no Chromium found (apt-get install -y chromium, or set HERALD_CHROME): the sandbox's browser test cannot run")
	}
	t.Parallel()
	p := startInProcess(t, map[string]string{"HERALD_DATA_DIR": reachableDir(t)})
	base := waitSandboxLine(t, p.out, 60*time.Second)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1280, 800), chromedp.Flag("lang", "en-US"))...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	ctx, cancel := context.WithTimeout(ctx, patient(2*time.Minute))
	t.Cleanup(cancel)
	page := &browserPage{t: t, ctx: ctx, base: base, dir: screenshotDir(t)}
	recipients := sandboxRecipientsFrom(t, base)

	page.do(chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"?lang=en"), chromedp.WaitVisible(chromedp.CSS("#start-btn")))
	page.screenshot("empty")
	mark := page.messageCount()
	page.do(chromedp.Click(chromedp.CSS("#start-btn")))
	page.next("at your service", mark)

	mark = page.send("/newtemplate")
	page.next("step 1 of 4", mark)
	mark = page.send("Browser template")
	page.next("Step 2 of 4", mark)
	// Bold through the keyboard shortcut, as a person formats in Telegram.
	mark = page.messageCount()
	page.do(chromedp.Focus(chromedp.CSS("#composer")), chromedp.SendKeys(chromedp.CSS("#composer"), "Hello, {{first_name}}! Big news: our spring sale starts today."))
	require.Equal(t, "yes", page.eval(`(() => { const c = document.getElementById("composer");
		const w = document.createTreeWalker(c, NodeFilter.SHOW_TEXT); let n;
		while ((n = w.nextNode())) { const i = n.nodeValue.indexOf("Big news"); if (i >= 0) {
			const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 8);
			const s = getSelection(); s.removeAllRanges(); s.addRange(r); return "yes"; } }
		return ""; })()`))
	page.do(chromedp.KeyEvent("b", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent(kb.End), chromedp.KeyEvent(kb.Enter))
	mine := page.waitFor("#chat .msg.out", 0, "Big news: our")
	require.Contains(t, mine, "<b>Big news</b>", "Ctrl+B made the selection bold")
	page.next("Step 3 of 4", mark)
	mark = page.press("Without buttons")
	page.next("Step 4 of 4", mark)
	mark = page.press("Save")
	page.next("is saved", mark)

	mark = page.send("/newbatch")
	page.next("step 1 of 2", mark)
	mark = page.send("Browser batch")
	page.next("2 of 2", mark)
	csvPath := filepath.Join(t.TempDir(), "people.csv")
	var csv strings.Builder
	csv.WriteString("chat_id,first_name\n")
	picked := append(recipients[:60:60], recipients[len(recipients)-3:]...) // the last ones blocked the bots
	for _, r := range picked {
		fmt.Fprintf(&csv, "%d,%s\n", r.ID, r.Name)
	}
	require.NoError(t, os.WriteFile(csvPath, []byte(csv.String()), 0o644))
	mark = page.messageCount()
	page.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{csvPath}))
	page.waitFor("#chat .msg.out", 0, "people.csv")
	page.next("is ready", mark)

	mark = page.send("/newcampaign")
	for _, label := range []string{"Browser template", "Sandbox News", "Browser batch"} {
		page.next("tep ", mark)
		if page.hasButton(label) { // the only one of its kind is chosen without asking
			mark = page.press(label)
		}
	}
	page.next("Sending to:", mark)
	page.screenshot("confirm")
	mark = page.press("Send now")
	page.next("is confirmed", mark)
	progress := page.watchProgress(mark)
	require.Contains(t, progress, "Sent: 60")
	page.waitFor("#chat a.doc", 0, "not-sent.csv") // the report's CSV follows the report
	csvLink := page.eval(`[...document.querySelectorAll("#chat a.doc")].find((a) => a.textContent.includes("not-sent.csv")).href`)
	report := httpGet(t, csvLink)
	// A BOM so spreadsheets read the names, and the list's own columns (first_name).
	require.True(t, strings.HasPrefix(report, "\ufeffchat_id,first_name,status,reason"), report)
	require.Equal(t, 4, strings.Count(report, "\n"), "three blocked recipients: %s", report)
	page.screenshot("report")

	// The recipient's phone: the message as the first person of the batch got it.
	first := recipients[0]
	pick := fmt.Sprintf(`(() => { const s = document.getElementById("recipient"); s.value = "%d"; s.dispatchEvent(new Event("change")); return ""; })()`, first.ID)
	has := fmt.Sprintf(`[...document.querySelectorAll("#inbox .msg")].some((m) => m.textContent.includes(%q)) ? "yes" : ""`, "Hello, "+first.Name+"!")
	// Pick the recipient as a person would, again if the pane has not followed within a
	// few seconds (on a slow machine the select can be set before its stream is ready).
	for i := 0; i < 8 && page.eval(has) == ""; i++ {
		page.eval(pick)
		for j := 0; j < 50 && page.eval(has) == ""; j++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
	got := page.waitFor("#inbox .msg", 0, "Hello, "+first.Name+"!")
	require.Contains(t, got, "<b>Big news</b>: our spring sale starts today.")
	require.Contains(t, got, "Sandbox News")
	page.waitFor("#channels .channel", 0, "60")
	page.screenshot("inbox")

	page.do(chromedp.EmulateViewport(390, 844))
	page.do(chromedp.Sleep(300 * time.Millisecond)) // relayout; nothing is measured
	page.screenshot("phone")

	// Sandbox Promo is a managed bot: the simulated people started it (every fourth by
	// the promo link), the last 10 blocked it and the 5 before them sent /stop, and
	// Herald counted them from the bot's own updates: 985 reachable, 247 by the link.
	mark = page.send("/newcampaign")
	page.next("Sandbox Promo", mark) // the only template is chosen by itself
	mark = page.press("Sandbox Promo")
	if page.hasButton("Done") { // several bots can be chosen: finish the choice
		mark = page.press("Done")
	}
	audience := page.next("Everyone who started the bot · 985", mark)
	require.Contains(t, audience, "promo_nov» · 247")

	// Markup typed by a person is text, in their bubble and in the bot's echo of it.
	mark = page.send(`/cancel`)
	page.next("", mark)
	mark = page.send(`<script>window.hacked = 1</script><img src=x onerror="window.hacked = 1">`)
	shown := page.waitFor("#chat .msg.out", 0, "<img src=x")
	require.Contains(t, shown, "&lt;script&gt;window.hacked = 1&lt;/script&gt;&lt;img src=x")
	require.Equal(t, "no", page.eval(`window.hacked ? "yes" : "no"`))
	require.Equal(t, 0, mustRun(t, page.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chat .msg script, #chat .msg img:not(.photo)").length`)))
	p.stop(t)
}

// watchProgress follows the campaign's control message from "running" to the final
// report and returns the report's text. The page must show it edited in place.
func (p *browserPage) watchProgress(from int) string {
	p.t.Helper()
	js := fmt.Sprintf(`(() => { const m = [...document.querySelectorAll("#chat .msg.in")].slice(%d)
		.find((m) => m.textContent.includes("📣 Campaign") || m.textContent.includes("🏁 Campaign"));
		return m ? JSON.stringify([m.dataset.version, m.innerText]) : ""; })()`, from/2)
	seen := map[string]bool{}
	deadline := time.Now().Add(patient(45 * time.Second))
	for time.Now().Before(deadline) {
		var state []string
		if s := p.eval(js); s != "" {
			require.NoError(p.t, json.Unmarshal([]byte(s), &state))
			seen[state[1]] = true
			if strings.Contains(state[1], "🏁") {
				// A campaign this small can finish before the reporter's first tick; then
				// the report comes as the first state. Once a running state was shown, the
				// report must replace it by an edit.
				if len(seen) > 1 {
					require.NotEqual(p.t, "0", state[0], "the report replaced the progress message by an edit")
				}
				p.t.Logf("the progress message showed %d different states", len(seen))
				return state[1]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("no final report; states seen: %v", seen)
	return ""
}

type sandboxRecipient struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func sandboxRecipientsFrom(t *testing.T, base string) []sandboxRecipient {
	t.Helper()
	var out []sandboxRecipient
	require.NoError(t, json.Unmarshal([]byte(httpGet(t, base+"sandbox/api/recipients")), &out))
	require.Len(t, out, sandboxRecipients)
	for i := range out {
		out[i].Name, _, _ = strings.Cut(out[i].Name, " ") // {{first_name}}
	}
	return out
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", url, body)
	return string(body)
}

func mustRun[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}
