package conformance

import (
	"bytes"
	"crypto/ecdh"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/pspsim/pspsim/simulator/ecies"
	"github.com/pspsim/pspsim/simulator/pan"
)

// The ECIES vectors of simulator/ecies/testdata/ecies-vectors.json (a copy:
// the binary carries it; a test checks that it still equals the reference).
//
//go:embed vectors/ecies-vectors.json
var vectorFiles embed.FS

// VectorsFile is the embedded copy's path inside vectorFiles.
const VectorsFile = "vectors/ecies-vectors.json"

// rawVector is one vector as the file holds it.
type rawVector struct {
	Name                string            `json:"name"`
	EphemeralPrivateKey string            `json:"ephemeralPrivateKeyHex"`
	Plaintext           string            `json:"plaintext"`
	Data                map[string]string `json:"data"`
	Expect              string            `json:"expect"`
	Why                 string            `json:"why"`
	dataRaw             json.RawMessage
}

// vector is a vector as the suite delivers it to one app.
type vector struct {
	Name   string
	Expect string // ok, fail
	Why    string
	// Data is the paymentMethod.data to send, in the vector's field order.
	Data json.RawMessage
	// Card is the number an ok vector decrypts to (empty for fail vectors).
	Card string
	// Sealed is the number in the vector's plaintext, ok or fail: an app
	// that opens a package it should refuse may leak it, so the suite looks
	// for it as for any card a scenario pays with (docs/CONTRACT.md §5.3).
	Sealed string
	// Verbatim says the data is the file's own bytes (the app's key is the
	// vectors' recipient); otherwise it was sealed again to the app's key.
	Verbatim bool
}

type vectorSet struct {
	byName map[string]vector
	names  []string
}

// loadVectors reads the vectors and makes each one a package for the app
// whose public key is appKey (base64 SPKI).
//
// The vectors are sealed to the vectors' own recipient key, which no app
// under test holds. So each is delivered as what it means for the app: an
// ok vector is sealed again to the app's key with the vector's own ephemeral
// key, iv and plaintext (the construction repeats exactly); a fail vector
// gets the same defect applied to that package — a cipherText equal to an ok
// vector's becomes that vector's re-sealed cipherText, one of the same length
// gets the same bits flipped, and every other field (a changed suit or
// salt, a swapped iv or ephemeral key, a raw point, a short iv, a package
// sealed to someone else) is sent as the file has it. An app registered
// with the vectors' recipient key gets the file's bytes unchanged.
func loadVectors(appKey string) (*vectorSet, error) {
	b, err := vectorFiles.ReadFile(VectorsFile)
	if err != nil {
		return nil, err
	}
	var file struct {
		Vectors []json.RawMessage `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("ecies vectors: %w", err)
	}
	raws := make([]rawVector, 0, len(file.Vectors))
	for _, rv := range file.Vectors {
		var v rawVector
		if err := json.Unmarshal(rv, &v); err != nil {
			return nil, fmt.Errorf("ecies vectors: %w", err)
		}
		var holder struct {
			Data json.RawMessage `json:"data"`
		}
		json.Unmarshal(rv, &holder)
		v.dataRaw = holder.Data
		raws = append(raws, v)
	}
	recipient, err := ecies.ParsePublicKey(appKey)
	if err != nil {
		return nil, fmt.Errorf("eciesPublicKey: %w", err)
	}
	set := &vectorSet{byName: map[string]vector{}}
	resealed := map[string]string{} // an ok vector's cipherText → the app's
	for _, v := range raws {
		if v.Expect != "ok" {
			continue
		}
		sealed, card, err := reseal(v, recipient)
		if err != nil {
			return nil, fmt.Errorf("ecies vector %s: %w", v.Name, err)
		}
		resealed[v.Data["cipherText"]] = sealed.CipherText
		set.add(vector{Name: v.Name, Expect: v.Expect, Why: v.Why, Card: card, Sealed: card, Data: withField(v.dataRaw, "cipherText", sealed.CipherText),
			Verbatim: sealed.CipherText == v.Data["cipherText"]})
	}
	for _, v := range raws {
		if v.Expect == "ok" {
			continue
		}
		ct := v.Data["cipherText"]
		translated, ok := resealed[ct]
		if !ok {
			translated = flipLike(ct, resealed)
		}
		sealedCard := ""
		if c, err := ecies.DecodeCard([]byte(v.Plaintext)); err == nil {
			sealedCard = c.Number
		}
		set.add(vector{Name: v.Name, Expect: v.Expect, Why: v.Why, Sealed: sealedCard, Data: withField(v.dataRaw, "cipherText", translated), Verbatim: translated == ct})
	}
	set.names = set.names[:0]
	for _, v := range raws {
		set.names = append(set.names, v.Name) // the file's order
	}
	return set, nil
}

func (s *vectorSet) add(v vector) {
	s.byName[v.Name] = v
	s.names = append(s.names, v.Name)
}

// reseal seals an ok vector's plaintext to recipient with its own ephemeral
// key and iv, and returns the package and the card number it holds.
func reseal(v rawVector, recipient *ecdh.PublicKey) (ecies.Package, string, error) {
	kb, err := hex.DecodeString(v.EphemeralPrivateKey)
	if err != nil {
		return ecies.Package{}, "", fmt.Errorf("ephemeralPrivateKeyHex: %w", err)
	}
	eph, err := ecdh.P256().NewPrivateKey(kb)
	if err != nil {
		return ecies.Package{}, "", fmt.Errorf("ephemeralPrivateKeyHex: %w", err)
	}
	iv, err := base64.StdEncoding.DecodeString(v.Data["iv"])
	if err != nil {
		return ecies.Package{}, "", fmt.Errorf("data.iv: %w", err)
	}
	card, err := ecies.DecodeCard([]byte(v.Plaintext))
	if err != nil {
		return ecies.Package{}, "", fmt.Errorf("plaintext: %w", err)
	}
	p, err := ecies.SealWith(eph, iv, recipient, []byte(v.Plaintext), v.Data["returnUrl"], ecies.Settings{Salt: v.Data["salt"]})
	if err != nil {
		return ecies.Package{}, "", err
	}
	if p.EphemeralPublicKey != v.Data["ephemeralPublicKey"] {
		return ecies.Package{}, "", fmt.Errorf("its ephemeral key does not match its ephemeralPublicKey")
	}
	return p, card.Number, nil
}

// flipLike applies to a re-sealed cipherText the bit flips that turned an
// ok vector's cipherText into ct (a tampered ciphertext or tag). A ct of no
// ok vector's length is returned as it is (sealed to someone else).
func flipLike(ct string, resealed map[string]string) string {
	tampered, err := base64.StdEncoding.DecodeString(ct)
	if err != nil {
		return ct
	}
	best, bestDiff := "", -1
	for orig, mine := range resealed {
		o, err1 := base64.StdEncoding.DecodeString(orig)
		m, err2 := base64.StdEncoding.DecodeString(mine)
		if err1 != nil || err2 != nil || len(o) != len(tampered) || len(m) != len(o) {
			continue
		}
		diff := 0
		out := make([]byte, len(m))
		for i := range o {
			x := o[i] ^ tampered[i]
			if x != 0 {
				diff++
			}
			out[i] = m[i] ^ x
		}
		if bestDiff < 0 || diff < bestDiff {
			best, bestDiff = base64.StdEncoding.EncodeToString(out), diff
		}
	}
	if bestDiff < 0 || bestDiff > 4 {
		return ct
	}
	return best
}

// withField returns the JSON object raw with one string field replaced,
// keeping the order of the fields.
func withField(raw json.RawMessage, name, value string) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var out bytes.Buffer
	if _, err := dec.Token(); err != nil { // {
		return raw
	}
	out.WriteByte('{')
	first := true
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return raw
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return raw
		}
		key, _ := kt.(string)
		if key == name {
			val, _ = json.Marshal(value)
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(val)
	}
	out.WriteByte('}')
	return out.Bytes()
}

// get returns a vector by name.
func (s *vectorSet) get(name string) (vector, error) {
	v, ok := s.byName[name]
	if !ok {
		return vector{}, fmt.Errorf("no ECIES vector %q (the vectors: %v)", name, s.names)
	}
	return v, nil
}

// masked is an ok vector's card, masked, for evidence and the PSP check.
func (v vector) masked() string { return pan.Mask(v.Card) }
