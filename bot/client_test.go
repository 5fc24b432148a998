package bot

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A connection error from net/http quotes the request URL, which carries the token;
// every client this package builds must keep it out of the error (and so the logs).
func TestClientErrorsCarryNoToken(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	const token = "123456:AAHsecretTokenNeverToBeLoggedxyz123"
	tg, err := newClient(token, "http://"+addr, 2*time.Second)
	require.NoError(t, err)
	_, err = tg.GetMe(context.Background())
	require.Error(t, err)
	require.NotContains(t, err.Error(), token)
	require.NotContains(t, err.Error(), "AAHsecretToken")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = tg.GetMe(ctx)
	require.True(t, errors.Is(err, context.Canceled), "cancellation stays visible: %v", err)
	require.NotContains(t, err.Error(), token)
}
