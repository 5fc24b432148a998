package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/stretchr/testify/require"
)

// operations lists the document's operations: id → method, path and required role.
func operations(t *testing.T, e *env) map[string][3]string {
	t.Helper()
	out := map[string][3]string{}
	for path, item := range e.srv.OpenAPI().Paths {
		for method, o := range map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PUT": item.Put,
			"DELETE": item.Delete, "PATCH": item.Patch} {
			if o == nil {
				continue
			}
			role, _ := o.Metadata["role"].(string)
			out[o.OperationID] = [3]string{method, path, role}
		}
	}
	return out
}

// TestAuthorizationMatrix calls every operation of the API (taken from the document,
// so a new route is covered without editing this test) with no key, a revoked key, a
// viewer key and an admin key. A refused call (401, 403) changes no table — audit_log
// included — and answers the same for an object that does not exist; a viewer's
// allowed call changes nothing but the audit log; an admin is never refused.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ops := operations(t, e)
	reqs, ghosts := e.requests(0), e.requests(987654321)
	ids := make([]string, 0, len(ops))
	for id, o := range ops {
		require.Contains(t, reqs, id, "the matrix has no request for %s", id)
		require.Equal(t, o[0], reqs[id].method, id)
		require.NotEmpty(t, o[2], "%s has no role", id)
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r, role := reqs[id], ops[id][2]
		for _, caller := range []string{"", "revoked", "viewer"} {
			if caller == "viewer" && role == "viewer" {
				continue
			}
			want := http.StatusUnauthorized
			if caller == "viewer" {
				want = http.StatusForbidden
			}
			before := e.snapshot(t)
			code, body := e.call(t, caller, r.method, r.path, r.contentType, r.body)
			require.Equal(t, want, code, "%s as %q: %s", id, caller, body)
			require.Equal(t, before, e.snapshot(t), "%s as %q changed a table", id, caller)
			var p struct{ Code string }
			require.NoError(t, json.Unmarshal(body, &p), "%s", body)
			require.NotEmpty(t, p.Code)
			g := ghosts[id]
			if g.path != r.path || string(g.body) != string(r.body) {
				code2, body2 := e.call(t, caller, g.method, g.path, g.contentType, g.body)
				require.Equal(t, code, code2, "%s as %q tells whether the object exists", id, caller)
				require.Equal(t, string(body), string(body2), "%s as %q tells whether the object exists", id, caller)
			}
		}
	}
	// A viewer's reads change nothing but the audit log, which names the key.
	for _, id := range ids {
		if ops[id][2] != "viewer" {
			continue
		}
		r := reqs[id]
		before := e.snapshot(t)
		code, body := e.call(t, "viewer", r.method, r.path, r.contentType, r.body)
		require.Less(t, code, 300, "%s as viewer: %s", id, body)
		after := e.snapshot(t)
		require.NotEqual(t, before["audit_log"], after["audit_log"], "%s is not audited", id)
		delete(before, "audit_log")
		delete(after, "audit_log")
		require.Equal(t, before, after, "%s as viewer changed a table", id)
	}
	// An admin key reaches every operation (the answer may be 404 or 409 once an
	// earlier call deleted or cancelled a victim).
	for _, id := range ids {
		r := reqs[id]
		code, body := e.call(t, "admin", r.method, r.path, r.contentType, r.body)
		require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, code, "%s as admin: %s", id, body)
		require.Less(t, code, 500, "%s as admin: %s", id, body)
	}
	var named int
	require.NoError(t, e.st.Pool().QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE action = 'api.call' AND details->>'api_key' = 'test admin'`).Scan(&named))
	require.Equal(t, len(ids), named, "every admin call is audited with the key's name")
}

// TestOpenAPIDocument validates the served document as OpenAPI 3.1 with a validator
// library and checks that router and document list the same routes.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	code, raw := e.call(t, "", "GET", "/api/v1/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, code)
	doc, err := libopenapi.NewDocument(raw)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(doc.GetVersion(), "3.1"), doc.GetVersion())
	valid, errs := schema_validation.ValidateOpenAPIDocument(doc)
	for _, ve := range errs {
		t.Errorf("%s: %s", ve.Message, ve.Reason)
		for _, se := range ve.SchemaValidationErrors {
			t.Errorf("  %+v", se)
		}
	}
	require.True(t, valid)

	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &spec))
	routed := map[string]bool{}
	for _, pattern := range e.mux.patterns {
		method, path, _ := strings.Cut(pattern, " ")
		if strings.HasPrefix(path, "/api/v1/openapi") { // the document itself
			continue
		}
		routed[method+" "+path] = true
		require.Contains(t, spec.Paths[path], strings.ToLower(method), "%s is routed but not in the document", pattern)
	}
	documented := 0
	for path, methods := range spec.Paths {
		for m := range methods {
			documented++
			require.True(t, routed[strings.ToUpper(m)+" "+path], "%s %s is documented but not routed", m, path)
		}
	}
	require.Equal(t, len(routed), documented)
	require.Greater(t, documented, 20)
}

// TestOversizedBodyRefusedUnread announces bodies larger than the operation allows
// and sends none: the answer must come at once (413), without waiting for the body.
func TestOversizedBodyRefusedUnread(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		path, contentType string
		length            int
	}{
		{"/api/v1/batches?name=Big", "text/csv", 21 << 20},
		{"/api/v1/templates", "application/json", 1 << 20},
		{"/api/v1/campaigns", "application/json", 1 << 20},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.http.URL, "http://"))
		require.NoError(t, err)
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			c.path, e.keys["admin"], c.contentType, c.length)
		// Bounded only so that a handler waiting for the body fails the test rather
		// than hanging it.
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, c.path)
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, c.path)
		var p struct{ Code string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
		require.Equal(t, "too_large", p.Code)
		conn.Close()
	}
}

// FuzzAPIJSON sends arbitrary JSON bodies to the operations that decode JSON, with an
// admin key: the answer is never a 5xx and always JSON (a result or a problem).
func FuzzAPIJSON(f *testing.F) {
	e := newEnv(f)
	type target struct{ method, path, contentType string }
	targets := []target{
		{"POST", "/api/v1/templates", "application/json"},
		{"POST", fmt.Sprintf("/api/v1/templates/%d/preview", e.tpl), "application/json"},
		{"POST", "/api/v1/campaigns", "application/json"},
		{"PUT", fmt.Sprintf("/api/v1/channels/%d/enabled", e.ch), "application/json"},
		{"POST", "/api/v1/batches?name=Fuzz", "application/json"},
		{"POST", "/api/v1/channels", "application/json"},
	}
	for i, seed := range []string{
		`{"name":"T","text":"Hi {{x}}","entities":[{"type":"bold","offset":0,"length":2}]}`,
		`{"values":{"name":"Ann"}}`,
		fmt.Sprintf(`{"template_id":%d,"batch_id":%d,"channel_id":%d}`, e.tpl, e.batch, e.ch),
		`{"enabled":true}`,
		`[{"chat_id":7,"vars":{"a":"b"}},{"chat_id":8,"vars":{"a":"c"}}]`,
		`{"token":"123:abc"}`,
		`{"name":"T","text":"{{","entities":[{"type":"text_link","offset":-1,"length":99999}]}`,
		`[{"chat_id":"x"}]`, `null`, `{}`, `[`, "\x00",
	} {
		f.Add(uint8(i), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		tg := targets[int(which)%len(targets)]
		code, raw := e.call(t, "admin", tg.method, tg.path, tg.contentType, body)
		require.Less(t, code, 500, "%s %s %q: %s", tg.method, tg.path, body, raw)
		if code != http.StatusNoContent {
			require.True(t, json.Valid(raw), "%s %s %q: not JSON: %s", tg.method, tg.path, body, raw)
		}
	})
}
