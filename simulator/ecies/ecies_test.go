package ecies_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/ecies"
)

// vector is one entry of ecies-vectors.json (made outside the project). The
// file under testdata is the project's reference copy (docs/CONTRACT.md §5.1);
// the conformance suite and the reference app carry copies that their tests
// keep equal to it.
type vector struct {
	Name                     string        `json:"name"`
	RecipientPrivateKeyPkcs8 string        `json:"recipientPrivateKeyPkcs8"`
	RecipientPublicKeySpki   string        `json:"recipientPublicKeySpki"`
	EphemeralPrivateKeyHex   string        `json:"ephemeralPrivateKeyHex"`
	Plaintext                string        `json:"plaintext"`
	SharedSecretHex          string        `json:"sharedSecretHex"`
	DerivedKeyHex            string        `json:"derivedKeyHex"`
	AADHex                   string        `json:"aadHex"`
	Data                     ecies.Package `json:"data"`
	Expect                   string        `json:"expect"`
	Why                      string        `json:"why"`
}

const vectorsFile = "testdata/ecies-vectors.json"

func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Vectors []vector }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", vectorsFile, err)
	}
	if len(doc.Vectors) == 0 {
		t.Fatalf("%s holds no vectors", vectorsFile)
	}
	return doc.Vectors
}

// TestVectorsOpen opens every "ok" vector to its plaintext and refuses every
// "fail" vector, with the default settings of CONTRACT.md §5.
func TestVectorsOpen(t *testing.T) {
	var ok, failed int
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			priv, err := ecies.ParsePrivateKey([]byte(v.RecipientPrivateKeyPkcs8))
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ecies.MarshalPublicKey(priv.PublicKey())
			if err != nil || pub != v.RecipientPublicKeySpki {
				t.Fatalf("recipient public key %s does not match the private key (%v)", pub, err)
			}
			plain, err := ecies.Open(priv, v.Data, ecies.Settings{})
			switch v.Expect {
			case "ok":
				ok++
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if string(plain) != v.Plaintext {
					t.Fatalf("plaintext %q, want %q", plain, v.Plaintext)
				}
				card, err := ecies.DecodeCard(plain)
				if err != nil || !strings.Contains(v.Plaintext, card.Number) {
					t.Fatalf("card: %v", err)
				}
			case "fail":
				failed++
				var e *ecies.Error
				if !errors.As(err, &e) {
					t.Fatalf("opened (%q) or failed without an *ecies.Error: %v", plain, err)
				}
				if e.Field == "" || e.Reason == "" {
					t.Fatalf("error does not name the field and the reason: %v", e)
				}
			default:
				t.Fatalf("unknown expectation %q", v.Expect)
			}
		})
	}
	if ok == 0 || failed == 0 {
		t.Fatalf("%d ok and %d fail vectors: the file lost a kind", ok, failed)
	}
}

// TestVectorsRefusalReasons pins why each negative vector is refused, so a
// change that refuses for the wrong reason (e.g. a salt check that stops
// looking at the tag) shows up.
func TestVectorsRefusalReasons(t *testing.T) {
	want := map[string]ecies.Kind{
		"tampered-ciphertext":    ecies.KindAuthentication,
		"tampered-tag":           ecies.KindAuthentication,
		"swapped-iv":             ecies.KindAuthentication,
		"swapped-ephemeral-key":  ecies.KindAuthentication,
		"suit-downgrade":         ecies.KindSuite,
		"wrong-salt":             ecies.KindSalt,
		"ephemeral-key-not-spki": ecies.KindEphemeralKey,
		"for-another-recipient":  ecies.KindAuthentication,
		"short-iv":               ecies.KindIV,
	}
	for _, v := range loadVectors(t) {
		if v.Expect != "fail" {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			kind, known := want[v.Name]
			if !known {
				t.Fatalf("new negative vector %q (%s): add its expected kind here", v.Name, v.Why)
			}
			priv, _ := ecies.ParsePrivateKey([]byte(v.RecipientPrivateKeyPkcs8))
			_, err := ecies.Open(priv, v.Data, ecies.Settings{})
			if !errors.Is(err, &ecies.Error{Kind: kind}) {
				t.Fatalf("refused with %v, want kind %s (%s)", err, kind, v.Why)
			}
		})
	}
}

// TestVectorsSealReproduces seals each "ok" vector's plaintext with its
// fixed ephemeral key and iv, and gets the vector's ciphertext bit for bit;
// the intermediate values (Z, key, AAD) are checked through a second route.
func TestVectorsSealReproduces(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.Expect != "ok" {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			recipient, err := ecies.ParsePublicKey(v.RecipientPublicKeySpki)
			if err != nil {
				t.Fatal(err)
			}
			ephBytes, _ := hex.DecodeString(v.EphemeralPrivateKeyHex)
			eph, err := ecdh.P256().NewPrivateKey(ephBytes)
			if err != nil {
				t.Fatal(err)
			}
			iv, _ := base64.StdEncoding.DecodeString(v.Data.IV)
			got, err := ecies.SealWith(eph, iv, recipient, []byte(v.Plaintext), v.Data.ReturnURL, ecies.Settings{})
			if err != nil {
				t.Fatal(err)
			}
			if got != v.Data {
				t.Fatalf("sealed\n%+v\nwant\n%+v", got, v.Data)
			}
			z, _ := eph.ECDH(recipient)
			if hex.EncodeToString(z) != v.SharedSecretHex {
				t.Fatalf("Z %x, want %s", z, v.SharedSecretHex)
			}
			spki, _ := base64.StdEncoding.DecodeString(v.Data.EphemeralPublicKey)
			aad := append(append([]byte(ecies.Suite), spki...), iv...)
			if hex.EncodeToString(aad) != v.AADHex {
				t.Fatalf("AAD layout differs from the vector's")
			}
		})
	}
}

func TestSealOpenRoundTripUnderEverySetting(t *testing.T) {
	priv, err := ecies.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	card := ecies.Card{Number: "5100123456000015", ExpiryMonth: "01", ExpiryYear: "2029", CVV: "737", HolderName: "Kenji Sato"}
	for _, s := range []ecies.Settings{
		{},
		{AAD: ecies.AADLengthPrefixed},
		{AAD: ecies.AADNone},
		{Info: []byte("genstore card data")},
		{Salt: "other-salt", AAD: ecies.AADConcat},
	} {
		t.Run(fmt.Sprintf("%s/%q/%s", s.AAD, s.Info, s.Salt), func(t *testing.T) {
			p, err := ecies.SealCard(rand.Reader, priv.PublicKey(), card, "https://shop.example/return", s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ecies.OpenCard(priv, p, s)
			if err != nil || got != card {
				t.Fatalf("%v %v", got, err)
			}
			// The same package under the default settings opens only when the
			// settings are the defaults: the settings really change the bytes.
			_, err = ecies.Open(priv, p, ecies.Settings{})
			if isDefault := s.AAD == "" && s.Info == nil && s.Salt == ""; isDefault != (err == nil) {
				t.Fatalf("opening under default settings: %v", err)
			}
		})
	}
}

func TestSealDrawsFreshKeyAndIV(t *testing.T) {
	priv, _ := ecies.GenerateKey(rand.Reader)
	a, _ := ecies.Seal(rand.Reader, priv.PublicKey(), []byte("x"), "", ecies.Settings{})
	b, _ := ecies.Seal(rand.Reader, priv.PublicKey(), []byte("x"), "", ecies.Settings{})
	if a.EphemeralPublicKey == b.EphemeralPublicKey || a.IV == b.IV || a.CipherText == b.CipherText {
		t.Fatal("two seals share an ephemeral key, an iv or a ciphertext")
	}
}

func TestOpenRefusesEachBrokenField(t *testing.T) {
	priv, _ := ecies.GenerateKey(rand.Reader)
	good, err := ecies.Seal(rand.Reader, priv.PublicKey(), []byte(`{"number":"4000123456000019"}`), "", ecies.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecies.GenerateKey(rand.Reader)
	p384 := "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE" + strings.Repeat("A", 128)
	cases := []struct {
		name  string
		edit  func(*ecies.Package)
		key   *ecdh.PrivateKey
		kind  ecies.Kind
		field string
	}{
		{"empty suit", func(p *ecies.Package) { p.Suit = "" }, priv, ecies.KindSuite, "suit"},
		{"lower-case suit", func(p *ecies.Package) { p.Suit = strings.ToLower(p.Suit) }, priv, ecies.KindSuite, "suit"},
		{"salt", func(p *ecies.Package) { p.Salt = "" }, priv, ecies.KindSalt, "salt"},
		{"key not base64", func(p *ecies.Package) { p.EphemeralPublicKey = "%%%" }, priv, ecies.KindEphemeralKey, "ephemeralPublicKey"},
		{"key empty", func(p *ecies.Package) { p.EphemeralPublicKey = "" }, priv, ecies.KindEphemeralKey, "ephemeralPublicKey"},
		{"key on P-384", func(p *ecies.Package) { p.EphemeralPublicKey = p384 }, priv, ecies.KindEphemeralKey, "ephemeralPublicKey"},
		{"iv not base64", func(p *ecies.Package) { p.IV = "***" }, priv, ecies.KindIV, "iv"},
		{"iv 16 bytes", func(p *ecies.Package) { p.IV = base64.StdEncoding.EncodeToString(make([]byte, 16)) }, priv, ecies.KindIV, "iv"},
		{"ciphertext not base64", func(p *ecies.Package) { p.CipherText = "@" }, priv, ecies.KindCipherText, "cipherText"},
		{"ciphertext shorter than the tag", func(p *ecies.Package) { p.CipherText = "AAAA" }, priv, ecies.KindCipherText, "cipherText"},
		{"another recipient", func(*ecies.Package) {}, other, ecies.KindAuthentication, "cipherText"},
		{"no recipient key", func(*ecies.Package) {}, nil, ecies.KindRecipientKey, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := good
			c.edit(&p)
			_, err := ecies.Open(c.key, p, ecies.Settings{})
			var e *ecies.Error
			if !errors.As(err, &e) || e.Kind != c.kind || e.Field != c.field {
				t.Fatalf("got %#v, want kind %s field %q", err, c.kind, c.field)
			}
			if strings.Contains(err.Error(), "4000123456000019") {
				t.Fatal("the error leaks the plaintext")
			}
		})
	}
}

func TestSettingsRefuseUnknownLayout(t *testing.T) {
	priv, _ := ecies.GenerateKey(rand.Reader)
	if _, err := ecies.Seal(rand.Reader, priv.PublicKey(), []byte("x"), "", ecies.Settings{AAD: "sideways"}); !errors.Is(err, &ecies.Error{Kind: ecies.KindSettings}) {
		t.Fatalf("seal: %v", err)
	}
	if _, err := ecies.Open(priv, ecies.Package{}, ecies.Settings{AAD: "sideways"}); !errors.Is(err, &ecies.Error{Kind: ecies.KindSettings}) {
		t.Fatalf("open: %v", err)
	}
}

func TestParseKeysRefuseOtherShapes(t *testing.T) {
	for _, in := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte{0x04, 1, 2, 3})} {
		if _, err := ecies.ParsePublicKey(in); err == nil {
			t.Errorf("public key %q accepted", in)
		}
		if _, err := ecies.ParsePrivateKey([]byte(in)); err == nil {
			t.Errorf("private key %q accepted", in)
		}
	}
	priv, _ := ecies.GenerateKey(rand.Reader)
	b64, err := ecies.MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ecies.ParsePrivateKey([]byte(b64))
	if err != nil || !back.Equal(priv) {
		t.Fatalf("private key round trip: %v", err)
	}
	der, _ := base64.StdEncoding.DecodeString(b64)
	if back, err = ecies.ParsePrivateKey(der); err != nil || !back.Equal(priv) {
		t.Fatalf("raw DER: %v", err)
	}
}

func TestCardNeverFormatsItsNumberOrCVV(t *testing.T) {
	c := ecies.Card{Number: "4000123456000019", ExpiryMonth: "12", ExpiryYear: "2030", CVV: "987", HolderName: "Ada"}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("card", "card", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), logged.String()} {
		if strings.Contains(s, "4000123456000019") || strings.Contains(s, "987") {
			t.Fatalf("card data leaks: %s", s)
		}
		if !strings.Contains(s, "400012******0019") {
			t.Fatalf("masked number missing: %s", s)
		}
	}
}

func TestDecodeCardIsStrict(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"number":4000}`, `{"number":""}`, `{"number":"4","pin":"1"}`, `{"number":"4"} {}`} {
		if _, err := ecies.DecodeCard([]byte(in)); !errors.Is(err, &ecies.Error{Kind: ecies.KindPlaintext}) {
			t.Errorf("%s: %v", in, err)
		}
	}
}

// FuzzOpen feeds arbitrary packages to the opener: it must never panic, and
// every refusal must be an *ecies.Error naming what is wrong.
func FuzzOpen(f *testing.F) {
	vs := loadVectors(f)
	priv, err := ecies.ParsePrivateKey([]byte(vs[0].RecipientPrivateKeyPkcs8))
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range vs {
		d := v.Data
		f.Add(d.CipherText, d.Salt, d.EphemeralPublicKey, d.Suit, d.IV)
	}
	f.Fuzz(func(t *testing.T, ct, salt, key, suit, iv string) {
		plain, err := ecies.Open(priv, ecies.Package{CipherText: ct, Salt: salt, EphemeralPublicKey: key, Suit: suit, IV: iv}, ecies.Settings{})
		if err == nil {
			if len(plain)+ecies.TagSize > len(ct) {
				t.Fatalf("opened %d bytes out of a %d-character ciphertext", len(plain), len(ct))
			}
			return
		}
		var e *ecies.Error
		if !errors.As(err, &e) || e.Reason == "" {
			t.Fatalf("refusal without a clear error: %v", err)
		}
	})
}

// Benchmarks for the hot paths of a payment: Genstore seals one package per
// payment, an app opens one. BenchmarkECDHOnly is the yardstick the ratios
// are read against (one P-256 scalar multiplication).
func BenchmarkSeal(b *testing.B) {
	priv, _ := ecies.GenerateKey(rand.Reader)
	card := ecies.Card{Number: "4000123456000019", ExpiryMonth: "12", ExpiryYear: "2030", CVV: "123", HolderName: "Ada Lovelace"}
	for b.Loop() {
		if _, err := ecies.SealCard(rand.Reader, priv.PublicKey(), card, "https://shop.example/return", ecies.Settings{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	v := loadVectors(b)[0]
	priv, _ := ecies.ParsePrivateKey([]byte(v.RecipientPrivateKeyPkcs8))
	for b.Loop() {
		if _, err := ecies.OpenCard(priv, v.Data, ecies.Settings{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkECDHOnly(b *testing.B) {
	a, _ := ecies.GenerateKey(rand.Reader)
	c, _ := ecies.GenerateKey(rand.Reader)
	for b.Loop() {
		if _, err := a.ECDH(c.PublicKey()); err != nil {
			b.Fatal(err)
		}
	}
}
