package tgemu

import (
	"math/rand/v2"
	"net/http"
)

// CloseIdleConnections closes every client connection that sits idle between two
// requests, as Telegram's servers and proxies do with kept-alive connections: a
// client that writes its next request on such a connection finds it closed.
func (s *Server) CloseIdleConnections() {
	s.hs.SetKeepAlivesEnabled(false) // closes the idle connections
	s.hs.SetKeepAlivesEnabled(true)
}

// gatewayFault decides a request's gateway fault (Faults.GatewayRate): none, an
// answer before the request reaches the emulator, or one after it was processed.
func gatewayFault(f *Faults) (before, after bool) {
	if f.GatewayRate <= 0 || rand.Float64() >= f.GatewayRate {
		return false, false
	}
	if rand.IntN(2) == 0 {
		return true, false
	}
	return false, true
}

// writeGateway answers like a reverse proxy that gave up on its upstream: 502 or 504
// with an HTML page, not the Bot API's JSON.
func writeGateway(w http.ResponseWriter) {
	code, title := http.StatusBadGateway, "502 Bad Gateway"
	if rand.IntN(2) == 0 {
		code, title = http.StatusGatewayTimeout, "504 Gateway Time-out"
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(code)
	_, _ = w.Write([]byte("<html><head><title>" + title + "</title></head><body><center><h1>" + title +
		"</h1></center><hr><center>nginx</center></body></html>\n"))
}
