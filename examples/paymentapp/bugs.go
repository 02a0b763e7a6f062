package paymentapp

import (
	"fmt"
	"sort"
	"strings"
)

// Bug names one deliberate mistake. A correct app runs with no bugs; the conformance suite
// runs the app once per bug to prove that at least one of its scenarios catches it (a suite
// that passes a broken app is worth nothing).
//
// Each bug breaks exactly one rule of CONTRACT.md, and breaks it the way real apps do: the
// code path looks like an honest mistake, and nothing in the app's answers announces it.
// Grep for the constant to find the mistake in the code; the comment there explains it.
type Bug string

// The bugs. BugCatalog gives, for each, the rule it breaks and where the contract states it.
const (
	// BugNoIdempotency: every delivery of a payment (or capture, void, refund) is treated
	// as a new operation. An app that forgets idempotency usually also defeats the PSP's
	// duplicate-order guard — its author "fixed" DUPLICATE_ORDER by giving each attempt a
	// fresh order number — so a retried or repeated id is charged again.
	BugNoIdempotency Bug = "no-idempotency"

	// BugRaceDuplicates: idempotency is checked without a lock ("have I answered this id
	// yet?"), so a second delivery that arrives while the first is still at the PSP sees
	// an unanswered record, takes it for a dead attempt and charges again under a new
	// order number. Sequential repeats are still answered from the store.
	BugRaceDuplicates Bug = "race-duplicates"

	// BugFlipFinal: a late PSP webhook that disagrees with the result already reported
	// overwrites it and is reported again: a second, contradicting callback.
	BugFlipFinal Bug = "flip-final"

	// BugIgnoreHMAC: a request whose hmac or timestamp does not verify is logged and then
	// processed anyway.
	BugIgnoreHMAC Bug = "ignore-hmac"

	// BugIgnoreTestMode: the app knows one set of PSP credentials, the live ones, and
	// charges test payments with them.
	BugIgnoreTestMode Bug = "ignore-test-mode"

	// BugLeakCard: a debugging aid left in: the decrypted card number is logged, and put
	// into the acknowledgement's error message.
	BugLeakCard Bug = "leak-card"

	// BugSkipAAD: the decryption uses the suit and salt the app expects instead of the
	// ones in the package, and never compares them, so the AAD no longer binds what was
	// sent: a package with a downgraded suit or a changed salt is accepted.
	BugSkipAAD Bug = "skip-aad"

	// BugNoCallbackAfterTimeout: the app knows gateway payments only by the gateway's
	// tradeNo. When the gateway does not answer in time there is no tradeNo, so the app
	// neither asks again nor recognises the late webhook: no callback is ever sent.
	BugNoCallbackAfterTimeout Bug = "no-callback-after-timeout"

	// BugWrongCallbackKind: every payment result goes to PUT /payment/{id}, including
	// those of manualCapture:true payments, which belong to /pre_authorize/{id}.
	BugWrongCallbackKind Bug = "wrong-callback-kind"

	// BugRefundOverCapture: refunds are not checked against what was captured; when the
	// gateway refuses the excess, the app refunds what is left and reports the whole
	// refund as done.
	BugRefundOverCapture Bug = "refund-over-capture"

	// BugApprove3DSR: a 3-D Secure result R ("rejected") is read as an authentication
	// that merely brought no liability shift, and the payment is reported approved.
	BugApprove3DSR Bug = "approve-3ds-r"

	// BugNoCallbackRetry: only network errors are retried; an HTTP answer, 5xx included,
	// is taken as final, so a callback answered 503 is lost.
	BugNoCallbackRetry Bug = "no-callback-retry"
)

// BugInfo describes one bug for people and for the conformance suite's kill matrix.
type BugInfo struct {
	Bug Bug
	// Theme is the conformance tag (without @) whose scenarios are expected to catch it.
	Theme string
	// Rule is the rule the bug breaks, in the words of the contract.
	Rule string
	// Section is where CONTRACT.md states the rule.
	Section string
}

// BugCatalog lists every bug the app knows, in a stable order.
func BugCatalog() []BugInfo {
	return []BugInfo{
		{BugNoIdempotency, "idempotency", "every delivery of one id is one operation: one PSP call, one final result", "§2 Idempotency"},
		{BugRaceDuplicates, "idempotency", "two deliveries of one id at the same moment are still one operation", "§2 Idempotency"},
		{BugFlipFinal, "immutable", "a final result is immutable: no second, different callback", "§3"},
		{BugIgnoreHMAC, "signature", "a request whose hmac or timestamp does not verify gets 401 and nothing else happens", "§2 Signing"},
		{BugIgnoreTestMode, "testmode", "test:true only with sandbox credentials, test:false never with them", "§6"},
		{BugLeakCard, "privacy", "the card number, CVV and key material are never logged or returned", "§5"},
		{BugSkipAAD, "ecies", "a package that does not decrypt with its own suit, salt, key and iv bound in the AAD is refused", "§5"},
		{BugNoCallbackAfterTimeout, "deadline", "the final result always comes by callback, also when the PSP answers late", "§2, §4"},
		{BugWrongCallbackKind, "capture", "a manualCapture:true payment is reported by PUT /pre_authorize/{paymentId}", "§3"},
		{BugRefundOverCapture, "refund", "refunds never exceed what was captured", "§7"},
		{BugApprove3DSR, "3ds", "a 3-D Secure result R or N is never authorized", "§7, TESTCARDS.md"},
		{BugNoCallbackRetry, "immutable", "a callback answered 5xx is retried", "§3"},
	}
}

// ParseBugs reads a comma-separated list of bug names (PAYMENTAPP_BUGS). Blank entries are
// ignored; an unknown name is an error, so that a typo cannot silently run the correct app.
func ParseBugs(list string) ([]Bug, error) {
	var bugs []Bug
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !knownBug(Bug(name)) {
			return nil, fmt.Errorf("unknown bug switch %q (known: %s)", name, strings.Join(bugNames(), ", "))
		}
		bugs = append(bugs, Bug(name))
	}
	return bugs, nil
}

func knownBug(b Bug) bool {
	for _, info := range BugCatalog() {
		if info.Bug == b {
			return true
		}
	}
	return false
}

func bugNames() []string {
	var names []string
	for _, info := range BugCatalog() {
		names = append(names, string(info.Bug))
	}
	sort.Strings(names)
	return names
}

// bugSet is the set of bugs an App runs with. The zero value is the correct app.
type bugSet map[Bug]bool

func newBugSet(bugs []Bug) (bugSet, error) {
	s := bugSet{}
	for _, b := range bugs {
		if !knownBug(b) {
			return nil, fmt.Errorf("unknown bug switch %q (known: %s)", b, strings.Join(bugNames(), ", "))
		}
		s[b] = true
	}
	return s, nil
}

func (s bugSet) on(b Bug) bool { return s[b] }
