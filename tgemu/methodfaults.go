package tgemu

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// MethodFault makes a method fail the way Telegram can: a 429 with retry_after,
// or any other error code, without the request being processed.
type MethodFault struct {
	Code        int    // error code, e.g. 429, 400, 500
	Description string // default: Telegram's wording for Code
	RetryAfter  int    // seconds, sent with 429 (default 1)
	// Times is how many requests fail after SetFaults; 0 means every request.
	Times int
}

// methodCounters counts requests per method (Calls) and the failures a
// MethodFault has injected since the last SetFaults.
type methodCounters struct {
	mu       sync.Mutex
	calls    map[string]int
	injected map[string]int
}

func (m *methodCounters) reset() {
	m.mu.Lock()
	m.injected = nil
	m.mu.Unlock()
}

func (m *methodCounters) count(method string) {
	m.mu.Lock()
	if m.calls == nil {
		m.calls = map[string]int{}
	}
	m.calls[strings.ToLower(method)]++
	m.mu.Unlock()
}

// methodFault is the error a MethodFault injects into this request, or nil.
func (b *bot) methodFault(method string) *apiError {
	f := b.faults.Load()
	if f == nil || len(f.Methods) == 0 {
		return nil
	}
	method = strings.ToLower(method)
	mf, ok := f.Methods[method]
	if !ok {
		return nil
	}
	m := &b.methodFaults
	m.mu.Lock()
	defer m.mu.Unlock()
	if mf.Times > 0 && m.injected[method] >= mf.Times {
		return nil
	}
	if m.injected == nil {
		m.injected = map[string]int{}
	}
	m.injected[method]++
	e := &apiError{code: mf.Code, desc: mf.Description}
	if mf.Code == http.StatusTooManyRequests {
		e.retryAfter = max(mf.RetryAfter, 1)
		if e.desc == "" {
			e.desc = "Too Many Requests: retry after " + strconv.Itoa(e.retryAfter)
		}
		b.lim.tooMany.Add(1)
	}
	if e.desc == "" {
		e.desc = http.StatusText(mf.Code)
	}
	return e
}

// Calls is how many requests of method (any case) the bot made, faults
// included.
func (s *Server) Calls(token, method string) int {
	b := s.mustBot(token)
	b.methodFaults.mu.Lock()
	defer b.methodFaults.mu.Unlock()
	return b.methodFaults.calls[strings.ToLower(method)]
}
