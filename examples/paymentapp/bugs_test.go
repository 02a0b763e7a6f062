package paymentapp

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// ruleCheck runs one rule of the contract against an app with the given bugs and reports
// whether the rule held, and if not, what broke.
type ruleCheck func(t *testing.T, bugs []Bug) (held bool, broke string)

// ruleChecks has one check per bug switch: the rule that switch breaks.
var ruleChecks = map[Bug]ruleCheck{
	BugNoIdempotency:          checkSequentialDuplicates,
	BugRaceDuplicates:         checkConcurrentDuplicates,
	BugFlipFinal:              checkNoContradictingCallback,
	BugIgnoreHMAC:             checkBadHMACRefused,
	BugIgnoreTestMode:         checkTestModeRouting,
	BugLeakCard:               checkNoCardInAnswersOrLogs,
	BugSkipAAD:                checkTamperedPackagesRefused,
	BugNoCallbackAfterTimeout: checkCallbackAfterTimeout,
	BugWrongCallbackKind:      checkPreAuthorizeCallback,
	BugRefundOverCapture:      checkRefundLimit,
	BugApprove3DSR:            check3DSRejectedNeverApproved,
	BugNoCallbackRetry:        checkCallbackRetriedOn5xx,
}

// alsoBreaks lists the rules a bug breaks besides its own, where one mistake necessarily
// breaks two checks: an app with no idempotency at all also charges concurrent duplicates.
var alsoBreaks = map[Bug][]Bug{
	BugNoIdempotency: {BugRaceDuplicates},
}

// TestBugSwitches proves each switch breaks the rule it names — and, unless -short, only
// that rule: every other check still holds with the switch on.
func TestBugSwitches(t *testing.T) {
	for _, info := range BugCatalog() {
		if ruleChecks[info.Bug] == nil {
			t.Errorf("bug %s has no rule check", info.Bug)
		}
	}
	for _, info := range BugCatalog() {
		bug, check := info.Bug, ruleChecks[info.Bug]
		if check == nil {
			continue
		}
		t.Run(string(bug), func(t *testing.T) {
			t.Parallel()
			if held, broke := check(t, nil); !held {
				t.Errorf("the correct app breaks the rule %q: %s", info.Rule, broke)
			}
			held, broke := check(t, []Bug{bug})
			if held {
				t.Errorf("with %s the rule %q still holds: the switch does nothing", bug, info.Rule)
			} else {
				t.Logf("%s breaks %q (%s): %s", bug, info.Rule, info.Section, broke)
			}
			if testing.Short() {
				return
			}
			for other, otherCheck := range ruleChecks {
				if other == bug || contains(alsoBreaks[bug], other) {
					continue
				}
				if held, broke := otherCheck(t, []Bug{bug}); !held {
					t.Errorf("with %s the rule of %s breaks too: %s", bug, other, broke)
				}
			}
		})
	}
}

func contains(list []Bug, b Bug) bool {
	for _, x := range list {
		if x == b {
			return true
		}
	}
	return false
}

func withBugs(bugs []Bug) func(*Config) {
	return func(c *Config) { c.Bugs = bugs }
}

// waitUntil polls cond for up to d.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

func checkSequentialDuplicates(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	body := h.payment("PIB01", cardApproved, true, false, "10.00")
	h.pay(body)
	h.pay(body)
	waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/")) >= 1 })
	settle()
	if n := len(h.gw.callsOf("create")); n != 1 {
		return false, fmt.Sprintf("a repeated delivery made %d gateway payments", n)
	}
	return true, ""
}

func checkConcurrentDuplicates(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.gw.createDelay = 100 * time.Millisecond
	deliverConcurrently(h, "/payment", h.payment("PIB02", cardApproved, true, false, "10.00"), 4)
	settle()
	if n := len(h.gw.callsOf("create")); n != 1 {
		return false, fmt.Sprintf("4 concurrent deliveries made %d gateway payments", n)
	}
	return true, ""
}

func checkNoContradictingCallback(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.pay(h.payment("PIB03", cardApproved, true, false, "10.00"))
	waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/payment/PIB03")) >= 1 })
	gp, _ := h.gw.payment(Sandbox, "PIB03")
	gp.Status, gp.FailureCode, gp.UpdatedAt = gwFailed, "DO_NOT_HONOR", "2030-01-01T00:00:00Z"
	h.gw.emit(Sandbox, "evt_b03", "payment.status_changed", gp, time.Now())
	settle()
	results := map[string]bool{}
	for _, c := range h.gs.callbacks("/api/202412/app/payment/PIB03") {
		results[fmt.Sprint(c.Pay["result"])] = true
	}
	if len(results) != 1 {
		return false, fmt.Sprintf("callbacks with results %v for one payment", results)
	}
	return true, ""
}

func checkBadHMACRefused(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	q, _ := url.ParseQuery(h.signedQuery(nil))
	q.Set("hmac", strings.Repeat("0", 64))
	status, _ := h.postRaw("/payment", q.Encode(), mustJSON(h.payment("PIB04", cardApproved, true, false, "10.00")), true)
	settle()
	if n := len(h.gw.callsOf("create")); status != 401 || n != 0 {
		return false, fmt.Sprintf("a bad hmac was answered %d and made %d gateway payments", status, n)
	}
	return true, ""
}

func checkTestModeRouting(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.pay(h.payment("PIB05", cardApproved, true, false, "10.00"))
	if c := h.gw.callsOf("create"); len(c) != 1 || c[0].Env != Sandbox {
		var envs []Env
		for _, call := range c {
			envs = append(envs, call.Env)
		}
		return false, fmt.Sprintf("a test:true payment went to %v", envs)
	}
	return true, ""
}

func checkNoCardInAnswersOrLogs(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	const canary = "4111111111111111" // not a magic card: approved
	ack := h.pay(h.payment("PIB06", canary, true, false, "10.00"))
	waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/")) >= 1 })
	if strings.Contains(fmt.Sprint(ack), canary) {
		return false, "the card number is in the acknowledgement"
	}
	if strings.Contains(fmt.Sprint(h.gs.callbacks("")), canary) {
		return false, "the card number is in a callback"
	}
	if strings.Contains(h.logs.String(), canary) {
		return false, "the card number is in the log"
	}
	return true, ""
}

func checkTamperedPackagesRefused(t *testing.T, bugs []Bug) (bool, string) {
	vectors := loadVectors(t)
	h := newHarness(t, withBugs(bugs), func(c *Config) { c.ECIESPrivateKey = vectors[0].RecipientPrivateKeyPkcs8 })
	var accepted []string
	for i, v := range vectors {
		if v.Expect != "fail" {
			continue
		}
		id := fmt.Sprintf("PIB07%02d", i)
		body := h.payment(id, cardApproved, true, false, "10.00")
		body["paymentMethod"] = map[string]any{"data": v.Data}
		h.pay(body)
		cb := waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/payment/"+id)) >= 1 })
		if !cb || h.gs.callbacks("/api/202412/app/payment/" + id)[0].Pay["result"] != "false" {
			accepted = append(accepted, v.Name)
		}
	}
	if n := len(h.gw.callsOf("create")); n != 0 || len(accepted) > 0 {
		return false, fmt.Sprintf("fail vectors %v accepted, %d gateway payments", accepted, n)
	}
	return true, ""
}

func checkCallbackAfterTimeout(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.pay(h.payment("PIB08", cardTimeout, true, false, "10.00"))
	// The late answer also comes as a webhook, as a real gateway would send it.
	gp, _ := h.gw.payment(Sandbox, "PIB08")
	h.gw.emit(Sandbox, "evt_b08", "payment.status_changed", gp, time.Now())
	if !waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/payment/PIB08")) >= 1 }) {
		return false, "no callback for a payment whose gateway call timed out"
	}
	return true, ""
}

func checkPreAuthorizeCallback(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.pay(h.payment("PIB09", cardApproved, true, true, "10.00"))
	waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/")) >= 1 })
	if c := h.gs.callbacks("/api/202412/app/"); len(c) != 1 || c[0].Path != "/api/202412/app/pre_authorize/PIB09" {
		return false, fmt.Sprintf("a manualCapture:true result went to %+v", c)
	}
	return true, ""
}

func checkRefundLimit(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.pay(h.payment("PIB10", cardApproved, true, false, "10.00"))
	waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/payment/PIB10")) >= 1 })
	h.post("/refund", map[string]any{"amount": "15.00", "test": true, "paymentId": "PIB10", "refundId": "RIB10"})
	waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/refund/RIB10")) >= 1 })
	c := h.gs.callbacks("/api/202412/app/refund/RIB10")
	if len(c) == 0 || c[0].Pay["result"] != "false" {
		return false, fmt.Sprintf("a refund of 15.00 on a capture of 10.00 was reported %+v", c)
	}
	return true, ""
}

func check3DSRejectedNeverApproved(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.pay(h.payment("PIB11", card3DSR, true, false, "10.00"))
	waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/payment/PIB11")) >= 1 })
	c := h.gs.callbacks("/api/202412/app/payment/PIB11")
	if len(c) == 0 || c[0].Pay["result"] != "false" {
		return false, fmt.Sprintf("a 3-D Secure R payment was reported %+v", c)
	}
	return true, ""
}

func checkCallbackRetriedOn5xx(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.gs.answerNext("/api/202412/app/payment/PIB12", 503)
	h.pay(h.payment("PIB12", cardApproved, true, false, "10.00"))
	delivered := waitUntil(time.Second, func() bool {
		c := h.gs.callbacks("/api/202412/app/payment/PIB12")
		return len(c) >= 2 && c[len(c)-1].Status == 200
	})
	if !delivered {
		return false, fmt.Sprintf("callback attempts after a 503: %+v", h.gs.callbacks("/api/202412/app/payment/PIB12"))
	}
	return true, ""
}

func TestParseBugs(t *testing.T) {
	got, err := ParseBugs(" flip-final, ,ignore-hmac")
	if err != nil || len(got) != 2 || got[0] != BugFlipFinal || got[1] != BugIgnoreHMAC {
		t.Errorf("ParseBugs = %v, %v", got, err)
	}
	if _, err := ParseBugs("flip-finale"); err == nil {
		t.Error("a misspelt bug was accepted")
	}
	if _, err := New(Config{Bugs: []Bug{"nope"}}); err == nil {
		t.Error("New accepted an unknown bug")
	}
}

func TestBugsAreQuiet(t *testing.T) {
	// Only the start-up warning names the switches: nothing the app answers does.
	h := newHarness(t, withBugs([]Bug{BugFlipFinal, BugNoCallbackRetry}))
	ack := h.pay(h.payment("PIB13", cardApproved, true, false, "10.00"))
	for _, info := range BugCatalog() {
		if strings.Contains(fmt.Sprint(ack), string(info.Bug)) {
			t.Errorf("the acknowledgement names %s", info.Bug)
		}
	}
}
