package ecies

import (
	"bytes"
	"crypto/ecdh"
	"encoding/json"
	"io"
	"log/slog"

	"github.com/pspsim/pspsim/simulator/pan"
)

// Card is the plaintext of a package (CONTRACT.md §5, our choice): compact
// UTF-8 JSON {"number","expiryMonth","expiryYear","cvv","holderName"}, in
// that order. It formats itself masked (fmt, %v, %+v, %#v, slog), so a Card
// that reaches a log line shows no number and no CVV.
type Card struct {
	Number      string `json:"number"`
	ExpiryMonth string `json:"expiryMonth"`
	ExpiryYear  string `json:"expiryYear"`
	CVV         string `json:"cvv"`
	HolderName  string `json:"holderName"`
}

// String shows the card masked: "400012******0019 12/2030".
func (c Card) String() string {
	return pan.Mask(c.Number) + " " + c.ExpiryMonth + "/" + c.ExpiryYear
}

// GoString keeps %#v masked too.
func (c Card) GoString() string { return "ecies.Card{" + c.String() + "}" }

// LogValue keeps slog masked.
func (c Card) LogValue() slog.Value { return slog.StringValue(c.String()) }

// SealCard encodes the card as the contract's plaintext and seals it.
func SealCard(rand io.Reader, recipient *ecdh.PublicKey, c Card, returnURL string, s Settings) (Package, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return Package{}, fail(KindPlaintext, "", "encoding the card: %v", err)
	}
	return Seal(rand, recipient, plain, returnURL, s)
}

// OpenCard opens a package and decodes the card. A plaintext that is not
// exactly the contract's JSON object is refused without quoting it.
func OpenCard(recipient *ecdh.PrivateKey, p Package, s Settings) (Card, error) {
	plain, err := Open(recipient, p, s)
	if err != nil {
		return Card{}, err
	}
	return DecodeCard(plain)
}

// DecodeCard parses the plaintext JSON strictly: every field a string, no
// unknown field, the number present.
func DecodeCard(plain []byte) (Card, error) {
	var c Card
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Card{}, fail(KindPlaintext, "", "the decrypted card data is not the JSON object {number, expiryMonth, expiryYear, cvv, holderName}")
	}
	if dec.More() {
		return Card{}, fail(KindPlaintext, "", "the decrypted card data has content after the JSON object")
	}
	if c.Number == "" {
		return Card{}, fail(KindPlaintext, "", "the decrypted card data has no number")
	}
	return c, nil
}
