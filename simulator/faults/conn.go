package faults

import (
	"bytes"
	"net"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/gate"
)

// capture is a ResponseWriter that keeps an answer in memory: actions run
// the operation into one when its answer is to be lost, cut or replaced.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newCapture() *capture { return &capture{header: http.Header{}} }

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}

func (c *capture) code() int {
	if c.status == 0 {
		return http.StatusOK
	}
	return c.status
}

// breakConn takes the connection away from net/http and closes it: with
// reset, abortively (SO_LINGER 0, so the peer gets a TCP RST and reads
// "connection reset by peer"); otherwise with a plain close (the peer reads
// EOF). Where the connection cannot be hijacked (HTTP/2), the handler is
// aborted with http.ErrAbortHandler, net/http's own way to drop a stream
// without an answer.
func breakConn(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if reset {
		setLinger0(conn)
	}
	conn.Close()
}

func setLinger0(conn net.Conn) {
	for {
		switch c := conn.(type) {
		case *net.TCPConn:
			c.SetLinger(0)
			return
		case interface{ NetConn() net.Conn }: // *tls.Conn
			conn = c.NetConn()
		default:
			return
		}
	}
}

// holdOpen keeps a request unanswered until the client gives up, max has
// passed, or the engine closes, and says which. max is wall time: a
// timeout is a network event that a client measures with its own clock,
// not a domain deadline, so it does not wait for the simulated clock.
// While it holds, the request is out of the simulator's gate (a reset need
// not wait for it) and free of the server's read and write deadlines (a
// hold outlasts them on purpose); same reports whether the world is still
// the one the request began in, so that nothing is recorded into the world
// after a reset.
func holdOpen(f *Fire, w http.ResponseWriter, r *http.Request, max time.Duration) (why string, same bool) {
	back := gate.Hold(w, r)
	defer func() { same = back() }()
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return "the client gave up", false
	case <-t.C:
		return "held for " + max.String() + ", then closed without an answer", false
	case <-f.Done():
		return "the simulator is stopping", false
	}
}
