package vmgateway

import (
	"testing"
	"time"
)

// TestOrderKeyIsItsScopeKey holds orderKey, written out, to the scopeKey it
// stands for.
func TestOrderKeyIsItsScopeKey(t *testing.T) {
	for _, c := range [][3]string{{"M1", "test", "O1"}, {"", "", ""}, {"A/B", "live", "C\x1fD"}, {"M\u00e9", "prod", "order"}} {
		if got, want := orderKey(c[0], c[1], c[2]), scopeKey(c[0], c[1], "order", c[2]); got != want {
			t.Fatalf("orderKey%q = %q, want %q", c, got, want)
		}
	}
}

// TestTransitionLeavesANextActionNone: leaving a waiting status leaves the
// next action "none", whether it was one already (kept) or another (made).
func TestTransitionLeavesANextActionNone(t *testing.T) {
	now := time.Unix(1.7e9, 0)
	exp := now.Add(time.Hour)
	for _, next := range []*NextAction{{Type: "none"}, {Type: "redirect", RedirectURL: "http://x/y", ExpiresAt: &exp}, {Type: "none", ExpiresAt: &exp}} {
		was := *next
		p := Payment{Status: StatusRequiresAction, NextAction: next, ExpiresAt: &exp}
		if err := p.transition(StatusCaptured, "captured", now); err != nil {
			t.Fatal(err)
		}
		if *p.NextAction != (NextAction{Type: "none"}) || *next != was {
			t.Fatalf("from %+v: %+v (the old one now %+v)", was, *p.NextAction, *next)
		}
	}
}
