package paymentapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Genstore signs every request it sends the app (CONTRACT.md §2):
//
//	hmac = hex(HMAC-SHA256(clientSecret, "k1=v1&k2=v2&…"))
//
// over every query parameter but hmac itself, sorted by name, values as they are (decoded
// from the URL, not re-encoded). timestamp is one of the signed parameters, so a captured
// request cannot be replayed more than SignatureWindow later. The simulator also signs the
// raw body (X-Genstore-Hmac-Sha256, base64); the app checks it whenever it is present.
//
// Verification comes before anything else — before the body is parsed, before any state
// is read — and a failure is answered 401 with nothing else done.

// errSignature is wrapped by every refusal; the message says which check failed.
var errSignature = errors.New("request signature")

// signedParams is what a verified query tells the app about the shop.
type signedParams struct {
	Shop   string
	ShopID string
	Query  url.Values
}

// verifyQuery checks the hmac and timestamp of a Genstore request's query string.
func verifyQuery(rawQuery, secret string, now time.Time, window time.Duration) (signedParams, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return signedParams{}, fmt.Errorf("%w: query: cannot be parsed", errSignature)
	}
	for name, values := range q {
		if len(values) != 1 {
			// A repeated parameter has no single value to sign; refuse rather than guess.
			return signedParams{}, fmt.Errorf("%w: %s: appears more than once", errSignature, name)
		}
	}
	for _, name := range []string{"shop", "shopId", "timestamp", "hmac"} {
		if q.Get(name) == "" {
			return signedParams{}, fmt.Errorf("%w: %s: is missing", errSignature, name)
		}
	}
	got, err := hex.DecodeString(q.Get("hmac"))
	if err != nil {
		return signedParams{}, fmt.Errorf("%w: hmac: is not hex", errSignature)
	}
	if !hmac.Equal(got, signQuery(q, secret)) { // constant time
		return signedParams{}, fmt.Errorf("%w: hmac: does not verify", errSignature)
	}
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil {
		return signedParams{}, fmt.Errorf("%w: timestamp: is not unix seconds", errSignature)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > window || d < -window {
		return signedParams{}, fmt.Errorf("%w: timestamp: is %s off the app's clock", errSignature, d.Round(time.Second))
	}
	return signedParams{Shop: q.Get("shop"), ShopID: q.Get("shopId"), Query: q}, nil
}

// signQuery computes the raw HMAC of a query as Genstore does (the tests sign with it too).
func signQuery(q url.Values, secret string) []byte {
	names := make([]string, 0, len(q))
	for name := range q {
		if name != "hmac" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var msg strings.Builder
	for i, name := range names {
		if i > 0 {
			msg.WriteByte('&')
		}
		msg.WriteString(name)
		msg.WriteByte('=')
		msg.WriteString(q.Get(name))
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(msg.String()))
	return mac.Sum(nil)
}

// verifyBody checks X-Genstore-Hmac-Sha256 when Genstore sent one. Real Genstore may not
// send it, so its absence is not an error; a wrong one is.
func verifyBody(header string, body []byte, secret string) error {
	if header == "" {
		return nil
	}
	got, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		return fmt.Errorf("%w: X-Genstore-Hmac-Sha256: is not base64", errSignature)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: X-Genstore-Hmac-Sha256: does not verify", errSignature)
	}
	return nil
}

// The card gateway signs its webhooks (specs/vmgateway.yaml, createWebhookSubscription):
//
//	X-VM-Signature = hex(HMAC-SHA256(subscription secret, X-VM-Timestamp + "." + raw body))
//
// The timestamp is inside the signature, so checking its age stops replays.

// verifyWebhook checks one webhook delivery's signature and age.
func verifyWebhook(secret, timestamp, signature string, body []byte, now time.Time, window time.Duration) error {
	if timestamp == "" || signature == "" {
		return fmt.Errorf("%w: X-VM-Timestamp and X-VM-Signature are required", errSignature)
	}
	got, err := hex.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: X-VM-Signature: is not hex", errSignature)
	}
	if !hmac.Equal(got, signWebhook(secret, timestamp, body)) {
		return fmt.Errorf("%w: X-VM-Signature: does not verify", errSignature)
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: X-VM-Timestamp: is not unix seconds", errSignature)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > window || d < -window {
		return fmt.Errorf("%w: X-VM-Timestamp: is %s off the app's clock", errSignature, d.Round(time.Second))
	}
	return nil
}

func signWebhook(secret, timestamp string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}
