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

// TestClaimKeysAreOrderKeyAndRefKey: the claim's id and key made in one
// string are orderKey's and refKey's.
func TestClaimKeysAreOrderKeyAndRefKey(t *testing.T) {
	for _, c := range [][5]string{{"M1", "sandbox", "ORD-1", "payment", "2026120610000012345"}, {"", "", "", "session", ""},
		{"M\x1f2", "live", "a/b", "session", "cs_0123"}, {"M", "sandbox", "é", "payment", "x/y"}} {
		gotID, gotKey := claimKeys(c[0], c[1], c[2], c[3], c[4])
		if wantID, wantKey := orderKey(c[0], c[1], c[2]), refKey(c[3], c[4]); gotID != wantID || gotKey != wantKey {
			t.Errorf("%q: %q %q, want %q %q", c, gotID, gotKey, wantID, wantKey)
		}
	}
	if n := testing.AllocsPerRun(100, func() { claimKeys("M1", "sandbox", "ORD-1", "payment", "2026120610000012345") }); n != 1 {
		t.Errorf("%.0f allocations, want 1", n)
	}
}
