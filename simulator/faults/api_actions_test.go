package faults_test

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/simtest"
)

// Each served-API action, seen from a real HTTP client on a real socket.

func TestLatencyDelaysTheAnswer(t *testing.T) {
	s := newShop(t, 1)
	s.rule(`{match: {operation: createOrder}, action: {type: latency, delay: 150ms}}`)
	a := s.create(fresh(5*time.Second), "A0001", "1.00")
	if a.err != nil || a.status != 201 || a.took < 150*time.Millisecond {
		t.Fatalf("%+v", a)
	}
	if !s.committed("A0001") {
		t.Fatal("a slow operation must still run")
	}
}

func TestLatencyRangeStaysInRange(t *testing.T) {
	s := newShop(t, 1)
	s.rule(`{match: {operation: createOrder}, action: {type: latency, min: 20ms, max: 80ms}}`)
	for i := 0; i < 4; i++ {
		a := s.create(fresh(5*time.Second), "A000"+string(rune('1'+i)), "1.00")
		if a.err != nil || a.status != 201 || a.took < 20*time.Millisecond {
			t.Fatalf("%+v", a)
		}
	}
}

func TestClientGivingUpDuringLatencySkipsTheOperation(t *testing.T) {
	s := newShop(t, 1)
	s.rule(`{match: {operation: createOrder}, action: {type: latency, delay: 2s}}`)
	a := s.create(fresh(100*time.Millisecond), "A0001", "1.00")
	if !isTimeout(a.err) {
		t.Fatalf("want a client timeout, got %+v", a)
	}
	simtest.Eventually(t, "the condition", func() bool { return len(s.events("fault.effect.latency")) == 1 })
	if s.committed("A0001") {
		t.Fatal("the operation ran although the client gave up during the latency")
	}
}

func TestStatusAnswersWhatTheRuleSays(t *testing.T) {
	s := newShop(t, 1)
	s.rule(`{id: busy, match: {operation: createOrder}, action: {type: status, status: 429, body: {"error": "slow down"}, headers: {Retry-After: "30"}}}`)
	a := s.create(fresh(5*time.Second), "A0001", "1.00")
	if a.err != nil || a.status != 429 || a.header.Get("Retry-After") != "30" || a.header.Get("Content-Type") != "application/json" ||
		string(a.body) != `{"error":"slow down"}` || a.header.Get("X-Pspsim-Fault") != "busy" {
		t.Fatalf("%+v %s", a, a.body)
	}
	if s.committed("A0001") {
		t.Fatal("the operation ran")
	}
}

func TestErrorIsRenderedInTheSystemsDialect(t *testing.T) {
	s := newShop(t, 1)
	s.rule(`{match: {operation: createOrder}, action: {type: error, kind: unavailable, code: SYS_BUSY, message: try later}}`)
	a := s.create(fresh(5*time.Second), "A0001", "1.00")
	var out map[string]string
	json.Unmarshal(a.body, &out)
	if a.status != 503 || out["kind"] != "unavailable" || out["code"] != "SYS_BUSY" || out["message"] != "try later" {
		t.Fatalf("%d %s", a.status, a.body)
	}
}

func TestTimeoutHoldsUntilTheClientGivesUp(t *testing.T) {
	s := newShop(t, 1)
	s.rule(`{match: {operation: createOrder}, action: {type: timeout, hold: 30s}}`)
	a := s.create(fresh(200*time.Millisecond), "A0001", "1.00")
	if !isTimeout(a.err) || a.took < 200*time.Millisecond {
		t.Fatalf("want a client timeout, got %+v", a)
	}
	simtest.Eventually(t, "the condition", func() bool {
		ev := s.events("fault.effect.timeout")
		return len(ev) == 1 && strings.Contains(ev[0].Message, "the client gave up")
	})
	if s.committed("A0001") {
		t.Fatal("a timeout must not run the operation")
	}
}

func TestTimeoutIsBoundedThenClosesWithoutAnswer(t *testing.T) {
	s := newShop(t, 1)
	s.rule(`{match: {operation: createOrder}, action: {type: timeout, hold: 150ms}}`)
	a := s.create(fresh(10*time.Second), "A0001", "1.00")
	if a.err == nil || isTimeout(a.err) || a.took < 150*time.Millisecond || a.took > 5*time.Second {
		t.Fatalf("want the connection closed without an answer after the hold, got %+v", a)
	}
	if !errors.Is(a.err, io.EOF) && !strings.Contains(a.err.Error(), "EOF") {
		t.Fatalf("want EOF, got %v", a.err)
	}
}

func TestResetIsAConnectionReset(t *testing.T) {
	s := newShop(t, 1)
	s.rule(`{match: {operation: createOrder}, action: reset}`)
	a := s.create(fresh(5*time.Second), "A0001", "1.00")
	if !errors.Is(a.err, syscall.ECONNRESET) {
		t.Fatalf("want connection reset by peer, got %+v", a)
	}
	if s.committed("A0001") || s.created.Load() != 0 {
		t.Fatal("a reset must not run the operation")
	}
}

func TestTruncateCommitsThenCutsTheBody(t *testing.T) {
	s := newShop(t, 1)
	s.rule(`{match: {operation: createOrder}, action: {type: truncate, bytes: 10}}`)
	a := s.create(fresh(5*time.Second), "A0001", "1.00")
	if a.status != 201 || !errors.Is(a.err, io.ErrUnexpectedEOF) || len(a.body) != 10 {
		t.Fatalf("want 201 and an unexpected EOF after 10 bytes, got %d %q %v", a.status, a.body, a.err)
	}
	if !s.committed("A0001") {
		t.Fatal("truncate runs the operation")
	}
}

func TestMalformedAnswersWhatNoJSONParserTakes(t *testing.T) {
	for _, c := range []struct {
		rule      string
		committed bool
	}{
		{`{match: {operation: createOrder}, action: malformed}`, false},
		{`{match: {operation: createOrder}, action: {type: malformed, processed: true, status: 201, body: '{"orderNo":'}}`, true},
	} {
		s := newShop(t, 1)
		s.rule(c.rule)
		a := s.create(fresh(5*time.Second), "A0001", "1.00")
		if a.err != nil || json.Valid(a.body) || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %+v %q", c.rule, a, a.body)
		}
		if s.committed("A0001") != c.committed {
			t.Fatalf("%s: committed = %v", c.rule, !c.committed)
		}
	}
}

// TestProcessedAnswerLost: the operation commits and a later query finds it,
// whatever the client got instead of its answer.
func TestProcessedAnswerLost(t *testing.T) {
	cases := []struct {
		name, rule string
		client     time.Duration
		check      func(a answer) bool
	}{
		{"reset", `{match: {operation: createOrder}, action: lost}`, 5 * time.Second,
			func(a answer) bool { return errors.Is(a.err, syscall.ECONNRESET) }},
		{"hang", `{match: {operation: createOrder}, action: {type: lost, then: hang}}`, 200 * time.Millisecond,
			func(a answer) bool { return isTimeout(a.err) }},
		{"error", `{match: {operation: createOrder}, action: {type: lost, then: error, status: 504}}`, 5 * time.Second,
			func(a answer) bool {
				return a.err == nil && a.status == 504 && strings.Contains(string(a.body), `"kind":"internal"`)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newShop(t, 1)
			s.rule(c.rule)
			a := s.create(fresh(c.client), "A0001", "1.00")
			if !c.check(a) {
				t.Fatalf("client got %d %q %v", a.status, a.body, a.err)
			}
			if !s.committed("A0001") {
				t.Fatal("the order is not queryable: the operation did not commit")
			}
			ev := s.events("fault.effect.lost")
			if len(ev) != 1 || !strings.Contains(ev[0].Message, "answered HTTP 201") {
				t.Fatalf("journal: %+v", ev)
			}
		})
	}
}
