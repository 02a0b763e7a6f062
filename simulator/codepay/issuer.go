package codepay

import (
	"strings"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/pan"
)

// decision is the issuer's (the host's) answer to an authorization.
type decision struct {
	approved  bool
	timeout   bool // the host accepted and never answered (TESTCARDS 26)
	retryable bool // a processing error (TESTCARDS 25)
	code, msg string
}

// declineCodes maps TESTCARDS decline reasons to ISO 8583 response codes.
var declineCodes = map[string][2]string{
	"insufficient_funds": {"51", "INSUFFICIENT FUNDS"},
	"do_not_honor":       {"05", "DO NOT HONOR"},
	"expired_card":       {"54", "EXPIRED CARD"},
	"incorrect_cvv":      {"N7", "CVV2 MISMATCH"},
	"lost_or_stolen":     {"43", "PICK UP CARD, STOLEN"},
}

// issuerDecision decides an authorization from the card's TESTCARDS row.
// Rows whose outcome is a 3-D Secure outcome (failed, rejected, unavailable,
// directory server error) are about authentication, which a card read by a
// terminal or a payment without 3-D Secure does not perform: the issuer
// approves them. Authentication outcomes are applied before this, by the
// online checkout, when 3-D Secure runs.
func issuerDecision(c fixtures.TestCard) decision {
	switch c.Outcome {
	case fixtures.Declined:
		dc, ok := declineCodes[c.DeclineReason]
		if !ok {
			dc = [2]string{"05", "DO NOT HONOR"}
		}
		return decision{code: dc[0], msg: "[" + dc[0] + "]" + dc[1]}
	case fixtures.PSPError:
		return decision{retryable: true, code: "96", msg: "[96]SYSTEM MALFUNCTION"}
	case fixtures.PSPTimeout:
		return decision{timeout: true}
	}
	return decision{approved: true, code: "000", msg: "[000]APPROVAL"}
}

// card is a card number read or decrypted, with its TESTCARDS profile. The
// number itself is only kept in memory for the request that carries it.
type card struct {
	number  string
	expiry  string
	holder  string
	profile fixtures.TestCard
	brand   string // visa, mastercard, ...
	known   bool
}

func (s *System) lookupCard(number string) card {
	p, brand, ok := s.cards.Lookup(number)
	return card{number: number, profile: p, brand: brand, known: ok}
}

// profileName is what a transaction stores to find the card's behaviour
// again later (after a 3-D Secure challenge) without keeping the number.
func (c card) profileName() string {
	if c.known {
		return c.profile.NN
	}
	return "default"
}

// profileByName returns the TESTCARDS row a transaction stored.
func (s *System) profileByName(name string) fixtures.TestCard {
	for _, c := range s.cards.Cards {
		if c.NN == name {
			return c
		}
	}
	return s.cards.Default
}

// brandName is how pay_method_id names a card brand.
func brandName(brand string) string {
	switch brand {
	case "visa":
		return "Visa"
	case "mastercard":
		return "Mastercard"
	case "amex":
		return "AmericanExpress"
	case "unionpay":
		return "UnionPay"
	case "jcb":
		return "JCB"
	case "discover":
		return "Discover"
	}
	return "Card"
}

// brandAccepted reports whether a card may pay an order that asked for a
// pay_method_id (an empty id, or one naming no card brand, accepts any).
func brandAccepted(payMethodID, brand string) bool {
	want := strings.ToLower(strings.ReplaceAll(payMethodID, " ", ""))
	switch want {
	case "visa", "mastercard", "americanexpress", "amex", "unionpay", "jcb", "discover":
	default:
		return true
	}
	got := strings.ToLower(brandName(brand))
	return want == got || (want == "amex" && got == "americanexpress")
}

// approve fills in what an approval gives a transaction.
func (s *System) approve(t *Txn, d decision) {
	t.AuthNo = s.env.IDs.Digits(6)
	t.RefNo = s.env.IDs.Digits(12)
	t.PayChannelNo = s.env.IDs.Digits(20)
	t.RespCode, t.RespMsg = d.code, d.msg
}

// useCard records a card on a transaction: masked, never whole.
func useCard(t *Txn, c card, instrument string) {
	t.Instrument = instrument
	t.CardMasked = pan.Mask(c.number)
	t.CardBrand = c.brand
	t.CardProfile = c.profileName()
	t.PayUserAccountID = t.CardMasked
	t.PayMethodID = brandName(c.brand)
	t.NotifyDelay = c.profile.NotificationDelay.Std()
}
