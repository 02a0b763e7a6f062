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
	CallbackRefused      Code = "CALLBACK_REFUSED"
	CallbackWrongKind    Code = "CALLBACK_WRONG_KIND"
	CallbackNotRetried   Code = "CALLBACK_NOT_RETRIED"

	IdempotencyDoubleCharge Code = "IDEMPOTENCY_DOUBLE_CHARGE"
	ImmutableContradiction  Code = "IMMUTABLE_CONTRADICTION"

	CaptureAmountWrong Code = "CAPTURE_AMOUNT_WRONG"
	VoidNotReleased    Code = "VOID_NOT_RELEASED"
	RefundOverCapture  Code = "REFUND_OVER_CAPTURE"
	RefundAmountWrong  Code = "REFUND_AMOUNT_WRONG"

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
	// Section is where CONTRACT.md states the rule.
	Section string
	// Rule is the rule, in the contract's words.
	Rule string
	// Seen says how the suite sees it broken.
	Seen string
}

// Codes returns the verdict table, in a stable order.
func Codes() []CodeInfo {
	return []CodeInfo{
		{InstallCodeNotExchanged, "install", "§1", "the app exchanges the single-use installation code for the shop's access token",
			"Genstore issued no access token after the merchant's browser opened the onboarding URL"},
		{InstallNotReady, "install", "§1", "once its PSP account is linked the app reports PUT account_authorize {\"pay\":{\"ready\":\"true\"}}",
			"the installation is not ready after the onboarding"},
		{InstallStaleToken, "install", "§1", "after a reinstallation the app calls Genstore with the new access token",
			"Genstore refused a call with 401 (revoked or unknown token)"},
		{AckMissing, "payment", "§2", "every request from Genstore is acknowledged with 200 (received); the result comes by callback",
			"the app answered the request with another status, or not at all"},
		{AckMalformed, "payment", "§2", "the acknowledgement is the JSON {\"channel<X>Id\", \"error\"} of genstore-app.yaml",
			"Genstore could not read the 200 body as the acknowledgement"},
		{ResultMissing, "payment", "§3", "every operation ends with exactly one final result, sent by the callback",
			"no callback recorded a result within the suite's wait"},
		{ResultContradictsPSP, "payment", "§3", "the result reported is what happened at the PSP",
			"Genstore holds one result, the PSP's records show the other outcome"},
		{ResultWithoutReason, "payment", "§3", "a result \"false\" carries a reason",
			"the failure reached Genstore without a reason"},
		{CallbackRefused, "payment", "§3", "a callback is well formed, for an id of this shop, with the shop's token",
			"Genstore answered a callback 401, 403, 404 or 422"},
		{CallbackWrongKind, "capture", "§3", "a manualCapture:true payment is reported by PUT pre_authorize/{id}, a manualCapture:false one by PUT payment/{id}",
			"Genstore refused a callback with 422, rule callbackKind"},
		{CallbackNotRetried, "immutable", "§3", "a callback answered 5xx, or not answered, is sent again until Genstore takes it",
			"the callback's first attempt failed and no later attempt recorded the result"},
		{IdempotencyDoubleCharge, "idempotency", "§2 Idempotency", "every delivery of one id is one operation: one PSP call, one final result",
			"the PSP's records hold more than one payment or refund for one Genstore id"},
		{ImmutableContradiction, "immutable", "§3", "a final result never changes: no second, different callback",
			"Genstore answered a callback 409 (a different final result is recorded)"},
		{CaptureAmountWrong, "capture", "§3", "a capture captures the amount the merchant asked, once",
			"the PSP captured another amount than the capture request's"},
		{VoidNotReleased, "void", "§3", "a successful void releases the authorization at the PSP",
			"the PSP's payment is not cancelled after a void reported successful"},
		{RefundOverCapture, "refund", "§7", "refunds never exceed what was captured",
			"a refund above what is left was reported successful, or refunded at the PSP"},
		{RefundAmountWrong, "refund", "§3", "a refund refunds the amount the merchant asked",
			"the PSP's refunds for the payment do not add up to what Genstore recorded"},
		{ThreeDSRejectedAuthorized, "3ds", "§7, TESTCARDS.md", "a 3-D Secure authentication that failed, was rejected (R), abandoned or unavailable is never authorized",
			"Genstore recorded the payment successful although the PSP failed it"},
		{ThreeDSNoRedirect, "3ds", "§2", "a payment that needs a challenge is acknowledged with a redirectUrl for the buyer",
			"the acknowledgement of a challenged card has no redirectUrl"},
		{ThreeDSNoReturn, "3ds", "§2", "after the challenge the buyer is sent back to paymentMethod.data.returnUrl",
			"the buyer's browser did not reach Genstore's return page"},
		{TestModeLiveCredentials, "testmode", "§6", "\"test\": true is processed with the PSP's sandbox credentials",
			"the PSP recorded a test payment's operation in its live environment"},
		{TestModeSandboxCredentials, "testmode", "§6", "\"test\": false is never processed with sandbox credentials",
			"the PSP recorded a live payment's operation in its sandbox"},
		{ECIESAcceptedTampered, "ecies", "§5", "a package that does not decrypt (suit, salt, key, iv, tag) is refused: result \"false\", no PSP call",
			"the PSP was called, or the result was \"true\", for a package that must fail"},
		{ECIESRejectedValid, "ecies", "§5", "a valid package is decrypted and charged",
			"a package that decrypts was refused"},
		{ECIESWrongCard, "ecies", "§5", "the card charged is the card in the package",
			"the PSP charged another card number than the package holds"},
		{SignatureNotEnforced, "signature", "§2 Signing", "a request whose hmac does not verify, or whose timestamp is more than 300 s off, gets 401 and nothing else happens",
			"the app answered it otherwise, or called the PSP or Genstore for it"},
		{PrivacyCardLeaked, "privacy", "§5", "no card number appears in anything the app sends Genstore or answers, nor in a PSP field not meant for it",
			"a canary card number was seen in raw bytes (journal privacy.leak)"},
		{DeadlineMissed, "deadline", "§4", "the final result comes within 30 s of the first attempt, or of the buyer's return",
			"Genstore journaled <kind>.deadline_missed when its clock passed the deadline"},
		{QueryInvalid, "query", "§2", "the query endpoints answer the JSON of genstore-app.yaml",
			"the answer's status or body breaks specs/genstore-app.yaml"},
		{QueryMismatch, "query", "§2", "a query answers the same result as the callback",
			"the query's status or channel id disagrees with what Genstore recorded"},
		{QueryUnknownID, "query", "§2", "a query about an id the app never received is answered 404",
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
	fmt.Fprintf(&b, "%s (CONTRACT.md %s): %s", v.Code, i.Section, i.Rule)
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
	b.WriteString("| code | theme | CONTRACT.md | the rule | how the suite sees it broken |\n|---|---|---|---|---|\n")
	for _, i := range Codes() {
		fmt.Fprintf(&b, "| `%s` | @%s | %s | %s | %s |\n", i.Code, i.Theme, i.Section, escapeCell(i.Rule), escapeCell(i.Seen))
	}
	return b.Bytes()
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
