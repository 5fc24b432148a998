package bot_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"herald/bot"
	"herald/secrets"
	"herald/store"
	"herald/tgemu"
)

// victimID is the id of one object of every kind the routes can name (template,
// batch, channel, campaign, admin), so that "<route>:<victimID>" points at something
// real whatever the route is about.
const victimID = 777001

func (b *testBundle) plantVictims(t *testing.T, box *secrets.Box) {
	t.Helper()
	channelBot := b.srv.CreateBot("victim_channel_bot")
	_, err := b.st.Pool().Exec(b.ctx, `INSERT INTO channels (id, bot_user_id, username, name, token_ciphertext, created_by)
		OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, 'Victim', $4, 1)`, victimID, channelBot.ID, channelBot.Username, box.Seal([]byte(channelBot.Token)))
	require.NoError(t, err)
	for _, q := range []string{
		`INSERT INTO admins (user_id, role, display_name) VALUES ($1, 'admin', 'Victim')`,
		`INSERT INTO templates (id, name, body, created_by) OVERRIDING SYSTEM VALUE VALUES ($1, 'Victim', 'Hi {{first_name}}', 1)`,
		`INSERT INTO batches (id, name, status, recipient_count, created_by) OVERRIDING SYSTEM VALUE VALUES ($1, 'Victim', 'ready', 1, 1)`,
		`INSERT INTO recipients (batch_id, chat_id) VALUES ($1, 42)`,
		`INSERT INTO campaigns (id, template_id, batch_id, channel_id, status, control_chat_id, created_by) OVERRIDING SYSTEM VALUE VALUES ($1, $1, $1, $1, 'paused', 1, 1)`,
	} {
		_, err := b.st.Pool().Exec(b.ctx, q, victimID)
		require.NoError(t, err, q)
	}
}

// snapshot is a checksum of every table but audit_log (and dialog_sessions, kept
// apart: opening a dialog is not a change that needs auditing).
type snapshot struct {
	tables  map[string]string
	dialogs string
	audit   int // audit rows
	changes int // audit rows other than refusals
}

func (b *testBundle) snapshot(t *testing.T) snapshot {
	t.Helper()
	ctx := context.Background()
	rows, err := b.st.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	s := snapshot{tables: map[string]string{}}
	for _, name := range names {
		if name == "audit_log" {
			continue
		}
		var sum string
		require.NoError(t, b.st.Pool().QueryRow(ctx, fmt.Sprintf(
			`SELECT count(*) || ':' || coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '') FROM %s AS r`,
			pgx.Identifier{name}.Sanitize())).Scan(&sum))
		if name == "dialog_sessions" {
			s.dialogs = sum
			continue
		}
		s.tables[name] = sum
	}
	require.Greater(t, len(s.tables), 8, "tables found")
	s.audit = b.count(t, `SELECT count(*) FROM audit_log`)
	s.changes = b.count(t, `SELECT count(*) FROM audit_log WHERE action <> 'access.refused'`)
	return s
}

var roleRank = map[string]int{"stranger": 0, store.RoleViewer: 1, store.RoleAdmin: 2, store.RoleOwner: 3}

// TestAuthorizationMatrix sends every command and presses every callback route of
// routes.go (bot.Routes, so new routes are covered without editing this test) as a
// stranger, a viewer, an admin and an owner. A refused update changes no table
// (audit_log aside, which gets at most the refusal); an allowed one that changes
// anything writes an audit entry.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	routes := bot.Routes()
	sort.Slice(routes, func(i, j int) bool { return routes[i].Kind+routes[i].Name < routes[j].Kind+routes[j].Name })
	require.Greater(t, len(routes), 10)
	for _, role := range []string{"stranger", store.RoleViewer, store.RoleAdmin, store.RoleOwner} {
		t.Run(role, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.srv.SetBotRate(b.token, 1000) // the test plants two messages per route
			box := b.withSecrets(t)         // the services production wires, so allowed
			b.withQueue(t)                  // routes run to the end
			b.start(t)
			b.plantVictims(t, box)
			actor := b.owner
			if role != store.RoleOwner {
				actor = b.user(t, "Actor", "en")
				if role != "stranger" {
					b.addAdmin(t, actor, role)
					// The first update records the admin's Telegram language (issue
					// 18.1); that write is not the routes' doing.
					b.command(t, actor, "/help")
					b.next(t, actor)
				}
			}
			cases := matrixCases(routes, b.harvestButtons(t, routes))
			var changed, refused []string
			for _, r := range cases {
				allowed := role != "stranger" && roleRank[role] >= roleRank[r.Role]
				name := fmt.Sprintf("%s %s as %s", r.Kind, r.Name, role)
				_, err := b.st.Pool().Exec(b.ctx, `DELETE FROM dialog_sessions`)
				require.NoError(t, err)
				before := b.snapshot(t)
				seen := len(b.srv.Transcript(b.token, actor.ID))

				var answer tgemu.CallbackAnswer
				switch r.Kind {
				case "command":
					b.command(t, actor, "/"+r.Name)
				default:
					m := b.plant(t, actor.ID, r.data)
					seen++
					answer = b.pressData(t, actor, m.MessageID, r.data)
				}
				// A press of an unknown button is answered after everything before it
				// in this chat has been handled (updates of a chat run in order).
				sentinel := b.plant(t, actor.ID, "zz:0")
				b.pressData(t, actor, sentinel.MessageID, "zz:0")
				var replies []string
				for _, e := range b.srv.Transcript(b.token, actor.ID)[seen:] {
					if e.FromBot && e.Message.MessageID != sentinel.MessageID {
						replies = append(replies, e.Message.Text)
					}
				}
				said := answer.Text + "\n" + strings.Join(replies, "\n")
				after := b.snapshot(t)

				switch {
				case role == "stranger":
					require.NotContains(t, said, "does not allow", name)
					if r.Kind == "callback" {
						require.Contains(t, answer.Text, "for Herald admins only", name)
					}
				case !allowed && r.Role == store.RoleOwner:
					require.Contains(t, said, "for owners only", name)
				case !allowed:
					require.Contains(t, said, "does not allow changes", name)
				default:
					require.NotContains(t, said, "does not allow changes", name)
					require.NotContains(t, said, "admins only", name)
					require.NotContains(t, said, "went wrong", name)
				}
				if !allowed {
					refused = append(refused, r.Kind+" "+r.Name)
					require.Equal(t, before.tables, after.tables, "%s changed the database", name)
					require.Equal(t, before.dialogs, after.dialogs, "%s opened a dialog", name)
					require.LessOrEqual(t, after.audit-before.audit, 1, name)
					require.Equal(t, before.changes, after.changes, name)
				} else if !mapsEqual(before.tables, after.tables) {
					require.Greater(t, after.changes, before.changes, "%s changed the database without an audit entry", name)
					changed = append(changed, r.Kind+" "+r.Name)
				}
			}
			t.Logf("%d routes, %d cases; refused %d %v; allowed and changed the database: %v", len(routes), len(cases), len(refused), refused, changed)
			if role == "stranger" {
				var botTexts []string
				for _, e := range b.srv.Transcript(b.token, actor.ID) {
					if e.FromBot && e.Message.Text != "planted" {
						botTexts = append(botTexts, e.Message.Text)
					}
				}
				require.LessOrEqual(t, len(botTexts), 1, "a stranger gets one refusal: %q", botTexts)
			}
			require.Empty(t, b.srv.UnansweredCallbacks(b.token))
		})
	}
}

// matrixCase is one update of the matrix: a command, a callback route pressed with the
// victim's id, or a button the bot itself showed for the victims (harvested), which
// carries arguments in the route's own format (such as "cmp:pause:<id>").
type matrixCase struct {
	bot.Route
	data string
}

func matrixCases(routes []bot.Route, harvested []string) []matrixCase {
	roleOf := map[string]string{}
	var cases []matrixCase
	for _, r := range routes {
		c := matrixCase{Route: r}
		if r.Kind == "callback" {
			roleOf[r.Name] = r.Role
			c.data = r.Name + ":" + fmt.Sprint(victimID)
			if r.Name == "f" {
				c.data = "f:1:cancel"
			}
		}
		cases = append(cases, c)
	}
	for _, d := range harvested {
		prefix, _, _ := strings.Cut(d, ":")
		role, ok := roleOf[prefix]
		if !ok {
			continue // a button of no route would only be answered "outdated"
		}
		cases = append(cases, matrixCase{Route: bot.Route{Kind: "button", Name: d, Role: role}, data: d})
	}
	return cases
}

// harvestButtons opens, as the owner, every viewing screen for the victims and returns
// the callback data of the buttons shown that name a victim, so the matrix also presses
// buttons whose argument has a shape of its own.
func (b *testBundle) harvestButtons(t *testing.T, routes []bot.Route) []string {
	t.Helper()
	plain := map[string]bool{}
	for _, r := range routes {
		plain[r.Name+":"+fmt.Sprint(victimID)] = true
	}
	for _, r := range routes {
		if r.Kind == "callback" && r.Role == store.RoleViewer && r.Name != "f" {
			data := r.Name + ":" + fmt.Sprint(victimID)
			m := b.plant(t, b.owner.ID, data)
			b.pressData(t, b.owner, m.MessageID, data)
		}
	}
	found := map[string]bool{}
	for _, e := range b.srv.Transcript(b.token, b.owner.ID) {
		if !e.FromBot || e.Message.ReplyMarkup == nil {
			continue
		}
		for _, row := range e.Message.ReplyMarkup.InlineKeyboard {
			for _, btn := range row {
				d := btn.CallbackData
				if d != "" && !plain[d] && !strings.HasPrefix(d, "f:") && strings.Contains(d, fmt.Sprint(victimID)) {
					found[d] = true
				}
			}
		}
	}
	out := make([]string, 0, len(found))
	for d := range found {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
