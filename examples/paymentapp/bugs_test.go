package paymentapp

import (
	"encoding/base64"
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
	BugLeakCardOnDecline:      checkNoCardInADeclinesAcknowledgement,
	BugLeakCardInReason:       checkNoCardInAFailuresReason,
	BugPSPCallOnBadPackage:    checkNoPSPCallForABadPackage,
	BugMalformedDuplicateAck:  checkEveryDeliveryAcknowledged,
	BugCaptureUnchecked:       checkCaptureLimitWithoutPSP,
	BugRefundBeforeSettled:    checkRefundReportedWhenSettled,
	BugReasonMissing:          checkFailureCarriesReason,
	BugRefundLiveCredentials:  checkRefundInPaymentsEnvironment,
	BugRetryWrongID:           checkCallbackRetriedUnderItsID,
	BugStaleToken:             checkNewestTokenAfterReinstall,
	BugAmountOffByCent:        checkExactAmountCharged,
	BugUnverifiedNotification: checkForgedNotificationRefused,
}

// alsoBreaks lists the rules a bug breaks besides its own, where one mistake necessarily
// breaks two checks: an app with no idempotency at all also charges concurrent duplicates;
// a card logged and returned on every path is also returned on the decline path; a call to
// the PSP with no card is also a tampered package "accepted"; an app with one (live)
// merchant account refunds with it too; a retry sent elsewhere never reaches the callback's
// own path.
var alsoBreaks = map[Bug][]Bug{
	BugNoIdempotency:       {BugRaceDuplicates},
	BugLeakCard:            {BugLeakCardOnDecline},
	BugPSPCallOnBadPackage: {BugSkipAAD},
	BugIgnoreTestMode:      {BugRefundLiveCredentials},
	BugRetryWrongID:        {BugNoCallbackRetry},
}

// TestBugSwitches proves each switch breaks the rule it names — and, unless -short, only
// that rule: every other check still holds with the switch on. A correct variant breaks
// none: every check holds with it on.
func TestBugSwitches(t *testing.T) {
	for _, info := range BugCatalog() {
		if ruleChecks[info.Bug] == nil && !info.Correct {
			t.Errorf("bug %s has no rule check", info.Bug)
		}
	}
	for _, info := range BugCatalog() {
		bug, check := info.Bug, ruleChecks[info.Bug]
		if info.Correct {
			t.Run(string(bug), func(t *testing.T) {
				t.Parallel()
				for other, otherCheck := range ruleChecks {
					if held, broke := otherCheck(t, []Bug{bug}); !held {
						t.Errorf("the correct variant %s breaks the rule of %s: %s", bug, other, broke)
					}
				}
			})
			continue
		}
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
	waitUntil(time.Second, func() bool { return len(h.gw.callsOf("create")) >= 1 })
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

func checkNoCardInADeclinesAcknowledgement(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	ack := h.pay(h.payment("PIB14", cardInsufficient, true, false, "10.00"))
	h.waitCallbacks("/api/202412/app/payment/PIB14", 1)
	if strings.Contains(fmt.Sprint(ack), cardInsufficient) {
		return false, "the acknowledgement of a declined card names it: " + pan(ack["error"])
	}
	return true, ""
}

func checkNoCardInAFailuresReason(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.pay(h.payment("PIB15", cardInsufficient, true, false, "10.00"))
	c := h.waitCallbacks("/api/202412/app/payment/PIB15", 1)
	_, q := h.query("/payment_query", url.Values{"paymentId": {"PIB15"}})
	if strings.Contains(fmt.Sprint(c[0].Pay["reason"]), cardInsufficient) || strings.Contains(q["error"], cardInsufficient) {
		return false, "the failure's reason names the card: " + pan(fmt.Sprint(c[0].Pay["reason"]))
	}
	return true, ""
}

func checkNoPSPCallForABadPackage(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	body := h.payment("PIB16", cardApproved, true, false, "10.00")
	pkg := body["paymentMethod"].(map[string]any)["data"].(cardPackage)
	ct, _ := base64.StdEncoding.DecodeString(pkg.CipherText)
	ct[len(ct)-1] ^= 1 // the tag no longer verifies, whatever the AAD
	pkg.CipherText = base64.StdEncoding.EncodeToString(ct)
	body["paymentMethod"] = map[string]any{"data": pkg}
	h.pay(body)
	c := h.waitCallbacks("/api/202412/app/payment/PIB16", 1)
	settle()
	if n := len(h.gw.callsOf("create")); n != 0 || c[0].Pay["result"] != "false" {
		return false, fmt.Sprintf("a package that does not decrypt made %d gateway calls and was reported %v", n, c[0].Pay["result"])
	}
	return true, ""
}

func checkEveryDeliveryAcknowledged(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.gw.createDelay = 100 * time.Millisecond
	for _, ack := range deliverConcurrently(h, "/payment", h.payment("PIB17", cardApproved, true, false, "10.00"), 4) {
		if _, ok := ack["channelPaymentId"]; !ok {
			return false, fmt.Sprintf("a concurrent delivery was answered %v", ack)
		}
		if _, ok := ack["error"]; !ok {
			return false, fmt.Sprintf("a concurrent delivery was answered %v", ack)
		}
	}
	return true, ""
}

func checkCaptureLimitWithoutPSP(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.pay(h.payment("PIB18", cardApproved, true, true, "10.00"))
	waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/")) >= 1 })
	h.deliver("/capture", map[string]any{"amount": "15.00", "test": true, "paymentId": "PIB18", "captureId": "CIB18"})
	if !waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/capture/CIB18")) >= 1 }) {
		return false, "no result for a capture above the authorization"
	}
	c := h.gs.callbacks("/api/202412/app/capture/CIB18")
	if n := len(h.gw.callsOf("capture")); n != 0 || c[0].Pay["result"] != "false" {
		return false, fmt.Sprintf("a capture above the authorization made %d gateway calls and was reported %v", n, c[0].Pay["result"])
	}
	return true, ""
}

func checkRefundReportedWhenSettled(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.gw.refundPending = true
	h.pay(h.payment("PIB19", cardApproved, true, false, "10.00"))
	h.waitCallbacks("/api/202412/app/payment/PIB19", 1)
	h.deliver("/refund", map[string]any{"amount": "5.00", "test": true, "paymentId": "PIB19", "refundId": "RIB19"})
	waitUntil(time.Second, func() bool { return len(h.gw.callsOf("refund")) >= 1 })
	settle()
	h.gw.settleRefund(Sandbox, "RIB19", false)
	h.gw.settleRefund(Live, "RIB19", false) // wherever the app made it
	if !waitUntil(2*time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/refund/RIB19")) >= 1 }) {
		return false, "no result for a refund the gateway failed to settle"
	}
	c := h.gs.callbacks("/api/202412/app/refund/RIB19")
	if c[0].Pay["result"] != "false" {
		return false, fmt.Sprintf("a refund the gateway failed to settle was reported %v", c[0].Pay["result"])
	}
	return true, ""
}

func checkFailureCarriesReason(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.pay(h.payment("PIB20", cardInsufficient, true, false, "10.00"))
	c := h.waitCallbacks("/api/202412/app/payment/PIB20", 1)
	if reason, _ := c[0].Pay["reason"].(string); c[0].Pay["result"] != "false" || strings.TrimSpace(reason) == "" {
		return false, fmt.Sprintf("a declined payment was reported %+v", c[0].Pay)
	}
	return true, ""
}

func checkRefundInPaymentsEnvironment(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.pay(h.payment("PIB21", cardApproved, true, false, "10.00"))
	h.waitCallbacks("/api/202412/app/payment/PIB21", 1)
	h.deliver("/refund", map[string]any{"amount": "5.00", "test": true, "paymentId": "PIB21", "refundId": "RIB21"})
	h.waitCallbacks("/api/202412/app/refund/RIB21", 1)
	for _, c := range append(h.gw.callsOf("refund"), h.gw.callsOf("create")...) {
		if c.Env != Sandbox {
			return false, fmt.Sprintf("a test payment's %s went to %s", c.Op, c.Env)
		}
	}
	return true, ""
}

func checkCallbackRetriedUnderItsID(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.gs.answerNext("/api/202412/app/payment/PIB22", 503)
	h.pay(h.payment("PIB22", cardApproved, true, false, "10.00"))
	waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/")) >= 2 })
	for _, c := range h.gs.callbacks("/api/202412/app/") {
		if c.Path != "/api/202412/app/payment/PIB22" {
			return false, "a callback was sent again to " + c.Path
		}
	}
	return true, ""
}

func checkNewestTokenAfterReinstall(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.pay(h.payment("PIB23", cardApproved, true, false, "10.00"))
	h.waitCallbacks("/api/202412/app/payment/PIB23", 1)
	h.install() // again: Genstore revokes the first token
	h.pay(h.payment("PIB24", cardApproved, true, false, "10.00"))
	if !waitUntil(time.Second, func() bool { return len(h.gs.callbacks("/api/202412/app/payment/PIB24")) >= 1 }) {
		return false, "after a reinstallation the result never reached Genstore (a revoked token?)"
	}
	return true, ""
}

func checkExactAmountCharged(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	h.pay(h.payment("PIB25", cardApproved, true, false, "10.00"))
	waitUntil(time.Second, func() bool { return len(h.gw.callsOf("create")) >= 1 })
	for _, c := range h.gw.callsOf("create") {
		if c.Amount != "10.00" {
			return false, "a payment of 10.00 was charged " + c.Amount
		}
	}
	return true, ""
}

func checkForgedNotificationRefused(t *testing.T, bugs []Bug) (bool, string) {
	h := newHarness(t, withBugs(bugs))
	body := []byte(`{"eventId":"evt_forged","eventType":"payment.status_changed","data":{"orderNo":"PIB26","status":"CAPTURED"}}`)
	if s := postWebhook(t, h.url+"/webhooks/vm/sandbox", "not-the-secret", "evt_forged", body, time.Now()); s/100 == 2 {
		return false, fmt.Sprintf("a webhook signed with another secret was answered %d", s)
	}
	return true, ""
}

// pan masks the card numbers in a text for a test's message.
func pan(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, cardInsufficient, "400012******0209"), cardApproved, "400012******0019")
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
