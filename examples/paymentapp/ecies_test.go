package paymentapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

type eciesVector struct {
	Name                     string      `json:"name"`
	RecipientPrivateKeyPkcs8 string      `json:"recipientPrivateKeyPkcs8"`
	RecipientPublicKeySpki   string      `json:"recipientPublicKeySpki"`
	Plaintext                string      `json:"plaintext"`
	Data                     cardPackage `json:"data"`
	Expect                   string      `json:"expect"`
	Why                      string      `json:"why"`
}

// referenceVectors is the project's reference copy of the vectors (docs/CONTRACT.md §5.1).
// The app imports nothing from pspsim, so it carries its own copy under testdata.
const referenceVectors = "../../simulator/ecies/testdata/ecies-vectors.json"

func loadVectors(t *testing.T) []eciesVector {
	t.Helper()
	data, err := os.ReadFile("testdata/ecies-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []eciesVector `json:"vectors"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return file.Vectors
}

func TestVectorsCopyMatchesReference(t *testing.T) {
	ref, err := os.ReadFile(referenceVectors)
	if err != nil {
		t.Fatal(err)
	}
	local, err := os.ReadFile("testdata/ecies-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ref, local) {
		t.Fatal("testdata/ecies-vectors.json differs from " + referenceVectors + ": copy it again")
	}
}

func TestECIESVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			key, err := parseECIESPrivateKey(v.RecipientPrivateKeyPkcs8)
			if err != nil {
				t.Fatal(err)
			}
			if pub, _ := publicKeySPKI(key); pub != v.RecipientPublicKeySpki {
				t.Fatalf("public key %s, want %s", pub, v.RecipientPublicKeySpki)
			}
			got, err := openCard(key, v.Data, false)
			switch v.Expect {
			case "ok":
				if err != nil {
					t.Fatalf("refused an ok vector: %v", err)
				}
				var want card
				if err := json.Unmarshal([]byte(v.Plaintext), &want); err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("decrypted %v, want %v", got, want) // %v prints masked cards
				}
			case "fail":
				if !errors.Is(err, errUndecryptable) {
					t.Fatalf("accepted a fail vector (%s): err = %v", v.Why, err)
				}
				if strings.Contains(err.Error(), v.RecipientPrivateKeyPkcs8) {
					t.Fatal("the error quotes the key")
				}
			default:
				t.Fatalf("unknown expectation %q", v.Expect)
			}
		})
	}
}

func TestECIESRoundTripWithTheAppKey(t *testing.T) {
	_, key := testKey(t)
	plain := []byte(`{"number":"5100123456000015","expiryMonth":"1","expiryYear":"29","cvv":"737","holderName":"Kenji Sato"}`)
	got, err := openCard(key, sealCard(t, key.PublicKey(), plain), false)
	if err != nil {
		t.Fatal(err)
	}
	if m, y := got.expiry(); m != "01" || y != "2029" {
		t.Errorf("expiry %s/%s", m, y)
	}
	if f, l := got.holderNames(); f != "Kenji" || l != "Sato" {
		t.Errorf("names %q %q", f, l)
	}
	// Not JSON, or not a card: refused like a bad tag.
	for _, bad := range []string{`not json`, `{"number":"4000","expiryMonth":"12","expiryYear":"2030"}`} {
		if _, err := openCard(key, sealCard(t, key.PublicKey(), []byte(bad)), false); !errors.Is(err, errUndecryptable) {
			t.Errorf("plaintext %q accepted", bad)
		}
	}
}

func TestCardNeverFormatsInFull(t *testing.T) {
	c := card{Number: "4000123456000019", CVV: "123", ExpiryMonth: "12", ExpiryYear: "2030"}
	js, _ := json.Marshal(c)
	for _, s := range []string{c.String(), c.GoString(), string(js), c.LogValue().String()} {
		if strings.Contains(s, c.Number) || strings.Contains(s, "123\"") {
			t.Errorf("%q shows the card", s)
		}
		if !strings.Contains(s, "400012******0019") {
			t.Errorf("%q does not show the masked number", s)
		}
	}
}

func TestParseECIESPrivateKey(t *testing.T) {
	pemKey, want := testKey(t)
	b64 := loadVectors(t)[0].RecipientPrivateKeyPkcs8
	for name, in := range map[string]string{"PEM": pemKey, "base64 DER": b64, "base64 with line breaks": b64[:40] + "\n" + b64[40:]} {
		if _, err := parseECIESPrivateKey(in); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got, _ := parseECIESPrivateKey(pemKey); !got.Equal(want) {
		t.Error("PEM key differs")
	}
	for _, bad := range []string{"", "not a key", "QUJD"} {
		if _, err := parseECIESPrivateKey(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Every vector delivered as a payment: ok ones charged with their card, fail ones
// acknowledged with an error, refused by callback, and never sent to the gateway.
func TestVectorsDeliveredAsPayments(t *testing.T) {
	vectors := loadVectors(t)
	h := newHarness(t, func(c *Config) { c.ECIESPrivateKey = vectors[0].RecipientPrivateKeyPkcs8 })
	for i, v := range vectors {
		if v.RecipientPrivateKeyPkcs8 != vectors[0].RecipientPrivateKeyPkcs8 {
			t.Fatalf("%s: vectors with another recipient key are not covered", v.Name)
		}
		id := fmt.Sprintf("PIV%03d", i)
		body := h.payment(id, cardApproved, true, false, "10.00")
		body["paymentMethod"] = map[string]any{"data": v.Data}
		ack := h.pay(body)
		cb := h.waitCallbacks("/api/202412/app/payment/"+id, 1)[0]
		var creates []gwCall
		for _, c := range h.gw.callsOf("create") {
			if c.OrderNo == id {
				creates = append(creates, c)
			}
		}
		var plain card
		_ = json.Unmarshal([]byte(v.Plaintext), &plain)
		switch v.Expect {
		case "ok":
			if len(creates) != 1 || creates[0].Card != maskPAN(plain.Number) || cb.Pay["result"] != "true" {
				t.Errorf("%s: creates %d, callback %v", v.Name, len(creates), cb.Pay)
			}
		case "fail":
			if len(creates) != 0 || ack["error"] == "" || cb.Pay["result"] != "false" || cb.Pay["reason"] == "" {
				t.Errorf("%s: creates %d, ack %v, callback %v", v.Name, len(creates), ack, cb.Pay)
			}
		}
	}
}
