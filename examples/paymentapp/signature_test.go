package paymentapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSignQueryMatchesTheSpecExample(t *testing.T) {
	// specs/genstore-app.yaml: the string signed for a payment query.
	q := url.Values{"paymentId": {"PI0020241010151755224"}, "shop": {"demo-shop"}, "shopId": {"1001"}, "timestamp": {"1728544675"}, "hmac": {"x"}}
	want := hmacHex("paymentId=PI0020241010151755224&shop=demo-shop&shopId=1001&timestamp=1728544675", "secret")
	if got := hex.EncodeToString(signQuery(q, "secret")); got != want {
		t.Fatalf("signQuery = %s, want %s", got, want)
	}
}

// hmacHex is plain HMAC-SHA256, written out again so that the test does not trust the
// code it tests.
func hmacHex(msg, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(msg))
	return hex.EncodeToString(mac.Sum(nil))
}

func TestVerifyQuery(t *testing.T) {
	now := time.Unix(1_728_544_675, 0)
	const secret = "s3cret"
	sign := func(q url.Values) url.Values {
		q.Set("hmac", hex.EncodeToString(signQuery(q, secret)))
		return q
	}
	base := func() url.Values {
		return url.Values{"shop": {"demo-shop"}, "shopId": {"1001"}, "timestamp": {fmt.Sprint(now.Unix())}, "paymentId": {"PI1"}}
	}
	for _, tc := range []struct {
		name  string
		query func() string
		want  string // "" = verifies
	}{
		{"valid", func() string { return sign(base()).Encode() }, ""},
		{"uppercase hex", func() string {
			q := sign(base())
			q.Set("hmac", strings.ToUpper(q.Get("hmac")))
			return q.Encode()
		}, ""},
		{"299 s old", func() string {
			q := base()
			q.Set("timestamp", fmt.Sprint(now.Unix()-299))
			return sign(q).Encode()
		}, ""},
		{"301 s old", func() string {
			q := base()
			q.Set("timestamp", fmt.Sprint(now.Unix()-301))
			return sign(q).Encode()
		}, "timestamp"},
		{"301 s ahead", func() string {
			q := base()
			q.Set("timestamp", fmt.Sprint(now.Unix()+301))
			return sign(q).Encode()
		}, "timestamp"},
		{"wrong secret", func() string {
			q := base()
			q.Set("hmac", hex.EncodeToString(signQuery(q, "other")))
			return q.Encode()
		}, "hmac: does not verify"},
		{"parameter changed after signing", func() string {
			q := sign(base())
			q.Set("paymentId", "PI2")
			return q.Encode()
		}, "hmac: does not verify"},
		{"parameter added after signing", func() string {
			q := sign(base())
			q.Set("refundId", "RI1")
			return q.Encode()
		}, "hmac: does not verify"},
		{"timestamp changed after signing", func() string {
			q := sign(base())
			q.Set("timestamp", fmt.Sprint(now.Unix()+1))
			return q.Encode()
		}, "hmac: does not verify"},
		{"hmac missing", func() string { return base().Encode() }, "hmac: is missing"},
		{"hmac not hex", func() string {
			q := base()
			q.Set("hmac", "zz")
			return q.Encode()
		}, "hmac: is not hex"},
		{"shop missing", func() string {
			q := base()
			q.Del("shop")
			return sign(q).Encode()
		}, "shop: is missing"},
		{"timestamp missing", func() string {
			q := base()
			q.Del("timestamp")
			return sign(q).Encode()
		}, "timestamp: is missing"},
		{"repeated parameter", func() string { return sign(base()).Encode() + "&shop=other" }, "appears more than once"},
		{"values are signed decoded", func() string {
			q := base()
			q.Set("code", "a b/c")
			return sign(q).Encode() // the wire has a+b%2Fc; the signed string has a b/c
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, err := verifyQuery(tc.query(), secret, now, 300*time.Second)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if sp.Shop != "demo-shop" || sp.ShopID != "1001" {
					t.Fatalf("params = %+v", sp)
				}
				return
			}
			if !errors.Is(err, errSignature) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestVerifyBodyAndWebhook(t *testing.T) {
	body := []byte(`{"paymentId":"PI1"}`)
	if err := verifyBody("", body, "k"); err != nil {
		t.Errorf("absent body hmac refused: %v", err)
	}
	if err := verifyBody("AAAA", body, "k"); err == nil {
		t.Error("wrong body hmac accepted")
	}
	now := time.Unix(1_751_536_800, 0)
	ts := fmt.Sprint(now.Unix())
	sig := hex.EncodeToString(signWebhook("whsec", ts, body))
	if err := verifyWebhook("whsec", ts, sig, body, now, 300*time.Second); err != nil {
		t.Errorf("valid webhook refused: %v", err)
	}
	for name, f := range map[string]func() error{
		"other secret": func() error { return verifyWebhook("other", ts, sig, body, now, 300*time.Second) },
		"body changed": func() error { return verifyWebhook("whsec", ts, sig, append(body, ' '), now, 300*time.Second) },
		"stale":        func() error { return verifyWebhook("whsec", ts, sig, body, now.Add(6*time.Minute), 300*time.Second) },
		"no signature": func() error { return verifyWebhook("whsec", ts, "", body, now, 300*time.Second) },
	} {
		if err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A request that fails verification is answered 401 and nothing else happens: no gateway
// call, no callback, no state.
func TestUnsignedRequestsDoNothing(t *testing.T) {
	h := newHarness(t)
	body := h.payment("PI200", cardApproved, true, false, "10.00")
	data := mustJSON(body)
	good := h.signedQuery(nil)
	q, _ := url.ParseQuery(good)
	stale := url.Values{"shop": {testShop}, "shopId": {testShopID}, "timestamp": {fmt.Sprint(time.Now().Add(-10 * time.Minute).Unix())}}
	stale.Set("hmac", hex.EncodeToString(signQuery(stale, testClientSecret)))
	tampered := url.Values{}
	for k, v := range q {
		tampered[k] = v
	}
	tampered.Set("shopId", "2002")
	for name, query := range map[string]string{
		"no query":        "",
		"stale timestamp": stale.Encode(),
		"tampered shopId": tampered.Encode(),
	} {
		if status, ack := h.postRaw("/payment", query, data, true); status != 401 || ack["error"] == "" {
			t.Errorf("%s: answered %d %v, want 401", name, status, ack)
		}
	}
	// The body changed after Genstore signed it.
	mac := hmac.New(sha256.New, []byte(testClientSecret))
	mac.Write(data)
	changed := mustJSON(h.payment("PI200", cardApproved, true, false, "99.00"))
	if status, ack := h.postWithHeader("/payment", good, changed, base64.StdEncoding.EncodeToString(mac.Sum(nil))); status != 401 || ack["error"] == "" {
		t.Errorf("changed body: answered %d %v, want 401", status, ack)
	}
	for _, path := range []string{"/capture", "/void", "/refund"} {
		if status, _ := h.postRaw(path, stale.Encode(), []byte(`{}`), false); status != 401 {
			t.Errorf("%s answered %d, want 401", path, status)
		}
	}
	resp := h.get("/payment_query", nil)
	resp.Body.Close()
	settle()
	if n := len(h.gw.callsOf("create")); n != 0 {
		t.Errorf("gateway creates = %d, want 0", n)
	}
	if n := len(h.gs.callbacks("/api/202412/app/")); n != 0 {
		t.Errorf("callbacks = %d, want 0", n)
	}
	if _, err := h.app.store.Payment(h.app.ctx, testShopID, "PI200"); !errors.Is(err, ErrNotFound) {
		t.Error("a refused request left a payment record")
	}
}
