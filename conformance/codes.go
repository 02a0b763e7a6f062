package conformance

import (
	"bytes"
	"fmt"
	"strings"
)

// Code names one rule of the contract that an app can break. Codes are
// stable: CI systems, dashboards and people grep for them, so a code is never
// renamed or reused for another rule (add a new one instead).
type Code string

// The verdict codes. Codes lists them with their rule and section; the table
// is rendered into docs/CONFORMANCE.md.
const (
	InstallCodeNotExchanged Code = "INSTALL_CODE_NOT_EXCHANGED"
	InstallNotReady         Code = "INSTALL_NOT_READY"
	InstallStaleToken       Code = "INSTALL_STALE_TOKEN"

	AckMissing   Code = "ACK_MISSING"
	AckMalformed Code = "ACK_MALFORMED"

	ResultMissing        Code = "RESULT_MISSING"
	ResultContradictsPSP Code = "RESULT_CONTRADICTS_PSP"
	ResultWithoutReason  Code = "RESULT_WITHOUT_REASON"
	ResultWithoutChannel Code = "RESULT_WITHOUT_CHANNEL_ID"
	CallbackRefused      Code = "CALLBACK_REFUSED"
	CallbackWrongKind    Code = "CALLBACK_WRONG_KIND"
	CallbackNotRetried   Code = "CALLBACK_NOT_RETRIED"

	NotificationUnverified Code = "NOTIFICATION_UNVERIFIED"

	IdempotencyDoubleCharge Code = "IDEMPOTENCY_DOUBLE_CHARGE"
	ImmutableContradiction  Code = "IMMUTABLE_CONTRADICTION"

	PaymentAmountWrong    Code = "PAYMENT_AMOUNT_WRONG"
	CaptureAmountWrong    Code = "CAPTURE_AMOUNT_WRONG"
	CaptureOverAuthorized Code = "CAPTURE_OVER_AUTHORIZED"
	VoidNotReleased       Code = "VOID_NOT_RELEASED"
	RefundOverCapture     Code = "REFUND_OVER_CAPTURE"
	RefundAmountWrong     Code = "REFUND_AMOUNT_WRONG"

	ThreeDSRejectedAuthorized Code = "THREEDS_REJECTED_AUTHORIZED"
	ThreeDSNoRedirect         Code = "THREEDS_NO_REDIRECT"
	ThreeDSNoReturn           Code = "THREEDS_NO_RETURN"

	TestModeLiveCredentials    Code = "TESTMODE_LIVE_CREDENTIALS"
	TestModeSandboxCredentials Code = "TESTMODE_SANDBOX_CREDENTIALS"

	ECIESAcceptedTampered Code = "ECIES_ACCEPTED_TAMPERED"
	ECIESRejectedValid    Code = "ECIES_REJECTED_VALID"
	ECIESWrongCard        Code = "ECIES_WRONG_CARD"

	SignatureNotEnforced Code = "SIGNATURE_NOT_ENFORCED"

	PrivacyCardLeaked Code = "PRIVACY_CARD_LEAKED"

	DeadlineMissed Code = "DEADLINE_MISSED"

	QueryInvalid   Code = "QUERY_INVALID"
	QueryMismatch  Code = "QUERY_MISMATCH"
	QueryUnknownID Code = "QUERY_UNKNOWN_ID"
)

// CodeInfo is one row of the verdict table.
type CodeInfo struct {
	Code Code
	// Theme is the scenario tag (without @) whose scenarios mostly give it.
	Theme string
	// Section is where docs/CONTRACT.md states the rule ("§2.4").
	Section string
	// Rule is the rule, in the contract's words.
	Rule string
	// Seen says how the suite sees it broken.
	Seen string
}

// Codes returns the verdict table, in a stable order. Each row's section is
// the part of docs/CONTRACT.md that requires exactly what the code demands.
func Codes() []CodeInfo {
	return []CodeInfo{
		{InstallCodeNotExchanged, "install", "§1.2", "the app exchanges the single-use installation code for the shop's access token",
			"Genstore issued no access token after the merchant's browser opened the onboarding URL"},
		{InstallNotReady, "install", "§1.3", "once its PSP account is linked the app reports PUT account_authorize {\"pay\":{\"ready\":\"true\"}}",
			"the installation is not ready after the onboarding"},
		{InstallStaleToken, "install", "§1.4", "after a reinstallation the app calls Genstore with the newest access token",
			"Genstore refused a call with 401 because its token was revoked by a later installation (journal callback.refused, tokenRevoked)"},
		{AckMissing, "payment", "§2.5", "every delivery of a valid request is answered 200 (received), or 5xx, 408 or 429 to have Genstore retry it; any other status is final and fails the operation",
			"the app answered a delivery whose signature verifies with a final status (another 4xx, a 3xx; journal answer.final), or never answered 200 where a result was due"},
		{AckMalformed, "payment", "§2.4", "every 200 answer, to every delivery of a request (duplicates included), is the acknowledgement JSON {\"channel<X>Id\", \"error\"} of genstore-app.yaml",
			"Genstore could not read a 200 answer as the acknowledgement (journal answer.malformed)"},
		{ResultMissing, "payment", "§3.1", "every operation ends with exactly one final result, sent by the callback",
			"no callback recorded a result within the suite's wait, after the app had done what it owed"},
		{ResultContradictsPSP, "payment", "§3.4", "the result reported is the PSP's final outcome of the operation",
			"Genstore holds one result, the PSP's records show the other outcome"},
		{ResultWithoutReason, "payment", "§3.1", "a result \"false\" carries a reason",
			"the failure reached Genstore without a reason (Genstore refused it: 422, pay.reason required)"},
		{ResultWithoutChannel, "payment", "§3.1", "a successful payment's PSP id (channelPaymentId) reaches Genstore, in the acknowledgement or in the callback",
			"the payment succeeded and Genstore never got its channelPaymentId"},
		{CallbackRefused, "payment", "§3.2", "a callback is well formed, for an id of this shop, with the shop's token",
			"Genstore answered a callback 401, 403, 404 or 422 (the refusal is the evidence)"},
		{CallbackWrongKind, "capture", "§3.1", "a manualCapture:true payment is reported by PUT pre_authorize/{id}, a manualCapture:false one by PUT payment/{id}",
			"Genstore refused a callback with 422, rule callbackKind"},
		{CallbackNotRetried, "immutable", "§3.3", "a callback answered 5xx, or not answered, is sent again until Genstore takes it",
			"the callback's first attempt failed and no later attempt came"},
		{NotificationUnverified, "immutable", "§7", "a PSP notification is taken only once its signature verifies",
			"the app acknowledged a notification whose signature the PSP's fault engine had broken (the attempt after fault.fired.tamper was delivered)"},
		{IdempotencyDoubleCharge, "idempotency", "§2.3", "every delivery of one id is one operation: one PSP call that moves money, one final result",
			"the PSP's records hold more than one payment or refund for one Genstore id"},
		{ImmutableContradiction, "immutable", "§3.2", "a final result never changes: no second, different callback",
			"Genstore answered a callback 409 (a different final result is recorded)"},
		{PaymentAmountWrong, "payment", "§3.4", "a payment charges exactly the amount and currency of the Payment Object",
			"the PSP's payment is of another amount or currency than Genstore's (both are named)"},
		{CaptureAmountWrong, "capture", "§3.4", "a capture captures the amount the merchant asked, once",
			"the PSP captured another amount than the capture request's"},
		{CaptureOverAuthorized, "capture", "§2.6", "a capture above the authorized amount is refused by the app itself: result \"false\", no capture call to the PSP",
			"the app sent the PSP a capture (accepted or refused) for more than the authorization"},
		{VoidNotReleased, "void", "§3.4", "a successful void releases the authorization at the PSP",
			"the PSP's payment is not cancelled after a void reported successful"},
		{RefundOverCapture, "refund", "§2.6", "refunds never exceed what was captured and not yet refunded; the app refuses the excess itself",
			"a refund above what is left was reported successful, or refunded at the PSP"},
		{RefundAmountWrong, "refund", "§3.4", "a refund refunds the amount the merchant asked, and is reported once the PSP settled it",
			"the PSP's refunds for the payment do not add up to what Genstore recorded"},
		{ThreeDSRejectedAuthorized, "3ds", "§3.4", "a 3-D Secure authentication that failed, was rejected (R), abandoned or unavailable is never authorized (TESTCARDS.md)",
			"Genstore recorded the payment successful although the PSP failed it"},
		{ThreeDSNoRedirect, "3ds", "§2.4", "a payment that needs a challenge is acknowledged with a redirectUrl for the buyer",
			"the acknowledgement of a challenged card has no redirectUrl"},
		{ThreeDSNoReturn, "3ds", "§2.4", "after the challenge the buyer is sent back to paymentMethod.data.returnUrl",
			"the buyer's browser did not reach Genstore's return page"},
		{TestModeLiveCredentials, "testmode", "§6", "\"test\": true is processed with the PSP's sandbox credentials, and so is every operation on the payment",
			"the PSP recorded a call about a test payment made with live credentials"},
		{TestModeSandboxCredentials, "testmode", "§6", "\"test\": false is never processed with sandbox credentials",
			"the PSP recorded a call about a live payment made with sandbox credentials"},
		{ECIESAcceptedTampered, "ecies", "§5.2", "a package that does not decrypt (suit, salt, key, iv, tag) is refused: result \"false\", and no call to the PSP at all",
			"the PSP got a call (accepted, refused or failed) or the result was \"true\" for a package that must fail"},
		{ECIESRejectedValid, "ecies", "§5.1", "a valid package is decrypted and charged",
			"a package that decrypts was refused"},
		{ECIESWrongCard, "ecies", "§5.1", "the card charged is the card in the package",
			"the PSP charged another card number than the package holds"},
		{SignatureNotEnforced, "signature", "§2.2", "a request whose hmac does not verify, or whose timestamp is more than 300 s off, gets 401 and nothing else happens",
			"the app answered it otherwise, or called the PSP or Genstore for it"},
		{PrivacyCardLeaked, "privacy", "§5.3", "no card number appears in anything the app sends Genstore or answers, nor in a PSP field not meant for it, on any path",
			"a card the scenario paid with was seen in raw bytes (journal privacy.leak, or an answer the suite read itself)"},
		{DeadlineMissed, "deadline", "§4", "the final result comes within 30 s of the first attempt, or of the buyer's return",
			"Genstore journaled <kind>.deadline_missed when its clock passed the deadline"},
		{QueryInvalid, "query", "§2.7", "the query endpoints answer the JSON of genstore-app.yaml",
			"the answer's status or body breaks specs/genstore-app.yaml"},
		{QueryMismatch, "query", "§2.7", "a query answers the result the callback reported (PROCESSING while there is none)",
			"the query's status or channel id disagrees with what Genstore recorded"},
		{QueryUnknownID, "query", "§2.7", "a query about an id the app never received is answered 404",
			"the app answered an unknown id otherwise"},
	}
}

// info returns the table row of a code.
func info(c Code) CodeInfo {
	for _, i := range Codes() {
		if i.Code == c {
			return i
		}
	}
	return CodeInfo{Code: c, Section: "?", Rule: "?"}
}

// Verdict is a broken rule: what a failing step returns. Its text names the
// code, the section and the rule, says what happened, and lists the evidence
// (ids, journal sequence numbers, masked card numbers) — never card data.
type Verdict struct {
	Code     Code
	Detail   string
	Evidence []string
}

// Error renders the verdict for the godog summary and the JUnit report.
func (v *Verdict) Error() string {
	i := info(v.Code)
	var b strings.Builder
	fmt.Fprintf(&b, "%s (docs/CONTRACT.md %s): %s", v.Code, i.Section, i.Rule)
	if v.Detail != "" {
		fmt.Fprintf(&b, "\n  what happened: %s", v.Detail)
	}
	for _, e := range v.Evidence {
		fmt.Fprintf(&b, "\n  evidence: %s", e)
	}
	return b.String()
}

// verdict builds a Verdict.
func verdict(code Code, evidence []string, format string, args ...any) *Verdict {
	return &Verdict{Code: code, Detail: fmt.Sprintf(format, args...), Evidence: evidence}
}

// CodesMarkdown renders the verdict table for docs/CONFORMANCE.md.
func CodesMarkdown() []byte {
	var b bytes.Buffer
	b.WriteString("| code | theme | docs/CONTRACT.md | the rule | how the suite sees it broken |\n|---|---|---|---|---|\n")
	for _, i := range Codes() {
		fmt.Fprintf(&b, "| `%s` | @%s | %s | %s | %s |\n", i.Code, i.Theme, i.Section, escapeCell(i.Rule), escapeCell(i.Seen))
	}
	return b.Bytes()
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
