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
// Each bug breaks exactly one rule of docs/CONTRACT.md, and breaks it the way real apps do: the
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

	// BugLeakCardOnDecline: a support aid on the decline path: the acknowledgement of a
	// declined card says which card was declined — in full.
	BugLeakCardOnDecline Bug = "leak-card-on-decline"

	// BugLeakCardInReason: a decline's reason names the card it was declined for, in full;
	// it travels in the callback's reason (and the query answer's error).
	BugLeakCardInReason Bug = "leak-card-in-reason"

	// BugPSPCallOnBadPackage: a package that does not decrypt is "left for the PSP to
	// judge": the app calls it with an empty card, and reports what the PSP answers.
	BugPSPCallOnBadPackage Bug = "psp-call-on-bad-package"

	// BugMalformedDuplicateAck: a delivery that arrives while the first one of its id is
	// still at the PSP is answered {} instead of the acknowledgement.
	BugMalformedDuplicateAck Bug = "malformed-duplicate-ack"

	// BugCaptureUnchecked: the app keeps no capture limit of its own ("the PSP checks
	// that"): a capture above the authorization goes to the PSP, which refuses it.
	BugCaptureUnchecked Bug = "capture-unchecked"

	// BugRefundBeforeSettled: a refund is reported successful as soon as the PSP accepts it
	// (PENDING), before it settles — and the PSP may fail to settle it.
	BugRefundBeforeSettled Bug = "refund-before-settled"

	// BugReasonMissing: a "false" result is sent without its reason (the field was thought
	// optional), so Genstore refuses it.
	BugReasonMissing Bug = "reason-missing"

	// BugRefundLiveCredentials: refunds are made with the live credentials whatever the
	// payment's mode (the refund path was written for production first).
	BugRefundLiveCredentials Bug = "refund-live-credentials"

	// BugRetryWrongID: a callback retried after a 5xx is rebuilt from the PSP's record and
	// sent under the PSP's id instead of Genstore's.
	BugRetryWrongID Bug = "retry-wrong-id"

	// BugStaleToken: result callbacks use the access token of the shop's first
	// installation, cached for good; after a reinstallation Genstore has revoked it.
	BugStaleToken Bug = "stale-token"

	// BugAmountOffByCent: the amount sent to the PSP is computed through a float and
	// rounded up: one minor unit too much.
	BugAmountOffByCent Bug = "amount-off-by-cent"

	// BugUnverifiedNotification: the PSP's notifications are taken without checking their
	// signature ("only the PSP knows our webhook URL") — the card gateway's X-VM-Signature,
	// CodePay's sign.
	BugUnverifiedNotification Bug = "unverified-notification"
)

// Variants are correct apps of another design, switched on like bugs: the conformance
// suite must pass them exactly as it passes the reference app (no false alarms from a
// different but correct way of honouring the contract).
const (
	// VariantAckFirst acknowledges every request at once (an empty channel id) and does
	// the work afterwards, in the background; a payment's acknowledgement sends the buyer
	// to the app's own checkout page, which goes on to the PSP's challenge when there is
	// one, or straight back to the shop. Results come by callback as always.
	VariantAckFirst Bug = "ack-first"

	// Variant5xxWhilePSPDown answers Genstore 503 when the PSP fails (a 5xx, no answer)
	// instead of acknowledging and asking the PSP later: Genstore retries, and the app
	// tries the PSP again then. A payment whose PSP keeps failing fails at Genstore when
	// its retries run out — uncharged.
	Variant5xxWhilePSPDown Bug = "5xx-while-psp-down"
)

// BugInfo describes one bug (or correct variant) for people and for the conformance
// suite's kill matrix.
type BugInfo struct {
	Bug Bug
	// Theme is the conformance tag (without @) whose scenarios are expected to catch it.
	Theme string
	// Rule is the rule the bug breaks, in the words of the contract.
	Rule string
	// Section is where docs/CONTRACT.md states the rule.
	Section string
	// Scenario is the conformance scenario that must catch the bug, and Code the verdict
	// code it must give (docs/CONFORMANCE.md lists both).
	Scenario string
	Code     string
	// Correct marks a variant: a correct app of another design that every scenario must
	// pass (Theme, Scenario and Code are empty).
	Correct bool
}

// BugCatalog lists every bug the app knows, then the correct variants, in a stable order.
func BugCatalog() []BugInfo {
	return []BugInfo{
		{BugNoIdempotency, "idempotency", "every delivery of one id is one operation: one PSP call, one final result", "§2.3",
			"The same payment request delivered twice in a row is charged once", "IDEMPOTENCY_DOUBLE_CHARGE", false},
		{BugRaceDuplicates, "idempotency", "two deliveries of one id at the same moment are still one operation", "§2.3",
			"The same payment request delivered three times at the same moment is charged once", "IDEMPOTENCY_DOUBLE_CHARGE", false},
		{BugFlipFinal, "immutable", "a final result is immutable: no second, different callback", "§3.2",
			"The PSP notifies success, then failure", "IMMUTABLE_CONTRADICTION", false},
		{BugIgnoreHMAC, "signature", "a request whose hmac or timestamp does not verify gets 401 and nothing else happens", "§2.2",
			"A payment request with a forged hmac is refused and does nothing", "SIGNATURE_NOT_ENFORCED", false},
		{BugIgnoreTestMode, "testmode", "test:true only with sandbox credentials, test:false never with them", "§6",
			"A test-mode payment is charged in the PSP's sandbox", "TESTMODE_LIVE_CREDENTIALS", false},
		{BugLeakCard, "privacy", "the card number, CVV and key material are never logged or returned", "§5.3",
			"An approved payment leaks its card nowhere", "PRIVACY_CARD_LEAKED", false},
		{BugSkipAAD, "ecies", "a package that does not decrypt with its own suit, salt, key and iv bound in the AAD is refused", "§5.2",
			"ECIES vector suit-downgrade (fail)", "ECIES_ACCEPTED_TAMPERED", false},
		{BugNoCallbackAfterTimeout, "deadline", "the final result always comes by callback, also when the PSP answers late", "§3.4, §4",
			"The result comes before the deadline although the PSP's answer was lost on the way", "DEADLINE_MISSED", false},
		{BugWrongCallbackKind, "capture", "a manualCapture:true payment is reported by PUT /pre_authorize/{paymentId}", "§3.1",
			"An authorization is reported by pre_authorize/ and captured in full", "CALLBACK_WRONG_KIND", false},
		{BugRefundOverCapture, "refund", "refunds never exceed what was captured", "§2.6",
			"A refund above the captured amount is refused without a PSP refund", "REFUND_OVER_CAPTURE", false},
		{BugApprove3DSR, "3ds", "a 3-D Secure result R or N is never authorized", "§3.4, TESTCARDS.md",
			"A rejected authentication (R) is never authorized", "THREEDS_REJECTED_AUTHORIZED", false},
		{BugNoCallbackRetry, "immutable", "a callback answered 5xx is retried", "§3.3",
			"A callback answered 503 is sent again", "CALLBACK_NOT_RETRIED", false},
		{BugLeakCardOnDecline, "privacy", "no card number in an acknowledgement, on the decline path too", "§5.3",
			"A declined card leaks nowhere, in the acknowledgement or in the failure's reason", "PRIVACY_CARD_LEAKED", false},
		{BugLeakCardInReason, "privacy", "no card number in a failure's reason", "§5.3",
			"A declined card leaks nowhere, in the acknowledgement or in the failure's reason", "PRIVACY_CARD_LEAKED", false},
		{BugPSPCallOnBadPackage, "ecies", "a package that does not decrypt means no call to the PSP at all", "§5.2",
			"ECIES vector tampered-tag (fail)", "ECIES_ACCEPTED_TAMPERED", false},
		{BugMalformedDuplicateAck, "idempotency", "every delivery, a concurrent duplicate included, is answered with the acknowledgement", "§2.4",
			"The same payment request delivered three times at the same moment is charged once", "ACK_MALFORMED", false},
		{BugCaptureUnchecked, "capture", "a capture above the authorization is refused by the app itself, without a PSP call", "§2.6",
			"A capture above the authorized amount is refused without a PSP call", "CAPTURE_OVER_AUTHORIZED", false},
		{BugRefundBeforeSettled, "refund", "a refund is reported once the PSP settled it, not when it accepted it", "§3.4",
			"A refund the PSP fails to settle is reported failed", "RESULT_CONTRADICTS_PSP", false},
		{BugReasonMissing, "payment", "a result \"false\" carries a reason", "§3.1",
			"A declined card (row 20, insufficient funds) is reported as failed, with a reason", "RESULT_WITHOUT_REASON", false},
		{BugRefundLiveCredentials, "testmode", "every operation on a test payment uses the sandbox credentials", "§6",
			"A test-mode refund goes to the PSP's sandbox", "TESTMODE_LIVE_CREDENTIALS", false},
		{BugRetryWrongID, "immutable", "a callback is sent again under the same id, byte-identical", "§3.3",
			"A callback answered 503 is sent again", "CALLBACK_REFUSED", false},
		{BugStaleToken, "install", "after a reinstallation the app uses the newest access token", "§1.4",
			"A reinstalled app reports results with its new access token", "INSTALL_STALE_TOKEN", false},
		{BugAmountOffByCent, "payment", "a payment charges exactly the amount Genstore sent", "§3.4",
			"An approved sale is acknowledged, charged once and reported by payment/", "PAYMENT_AMOUNT_WRONG", false},
		{BugUnverifiedNotification, "immutable", "a PSP notification is taken only once its signature verifies", "§7",
			"A PSP notification whose signature does not verify is refused", "NOTIFICATION_UNVERIFIED", false},
		{Bug: VariantAckFirst, Rule: "acknowledge first, work afterwards, report by callback", Section: "§2.4", Correct: true},
		{Bug: Variant5xxWhilePSPDown, Rule: "answer 5xx while the PSP fails, and let Genstore retry", Section: "§2.5", Correct: true},
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

// isVariant reports whether a switch is a correct variant rather than a bug.
func isVariant(b Bug) bool {
	for _, info := range BugCatalog() {
		if info.Bug == b {
			return info.Correct
		}
	}
	return false
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
