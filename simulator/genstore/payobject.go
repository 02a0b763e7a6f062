package genstore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pspsim/pspsim/fixtures/fake"
	"github.com/pspsim/pspsim/simulator/ecies"
	"github.com/pspsim/pspsim/simulator/money"
)

// The bodies Genstore sends to apps, field for field as seed 000 (the
// Payment Object) and CONTRACT.md §2 list them, in their order. Booleans are
// JSON booleans (the contract: apps must accept strings too).

// PaymentObject is the body of POST {paymentUrl}.
type PaymentObject struct {
	PurchaseInfo  json.RawMessage `json:"purchaseInfo,omitempty"`
	Amount        string          `json:"amount"`
	ClientDetails json.RawMessage `json:"clientDetails,omitempty"`
	Test          bool            `json:"test"`
	ManualCapture bool            `json:"manualCapture"`
	PaymentID     string          `json:"paymentId"`
	PaymentMethod PaymentMethod   `json:"paymentMethod"`
	Currency      string          `json:"currency"`
	Customer      json.RawMessage `json:"customer,omitempty"`
}

// PaymentMethod wraps the sealed card.
type PaymentMethod struct {
	Data ecies.Package `json:"data"`
	// Raw, when set, is sent as data instead of Data, verbatim: a test
	// vector or a deliberately broken package (createGenstorePayment's
	// paymentMethodData).
	Raw json.RawMessage `json:"-"`
}

// MarshalJSON sends Raw verbatim when it is set.
func (m PaymentMethod) MarshalJSON() ([]byte, error) {
	if len(m.Raw) > 0 {
		return json.Marshal(struct {
			Data json.RawMessage `json:"data"`
		}{m.Raw})
	}
	return json.Marshal(struct {
		Data ecies.Package `json:"data"`
	}{m.Data})
}

// CaptureObject is the body of POST {captureUrl}.
type CaptureObject struct {
	Amount    string `json:"amount"`
	Test      bool   `json:"test"`
	PaymentID string `json:"paymentId"`
	CaptureID string `json:"captureId"`
}

// VoidObject is the body of POST {voidUrl}.
type VoidObject struct {
	Test      bool   `json:"test"`
	VoidID    string `json:"voidId"`
	PaymentID string `json:"paymentId"`
}

// RefundObject is the body of POST {refundUrl}.
type RefundObject struct {
	Amount    string `json:"amount"`
	Test      bool   `json:"test"`
	PaymentID string `json:"paymentId"`
	RefundID  string `json:"refundId"`
}

// purchaseInfo and friends are the fake buyer and basket in the Payment
// Object's shapes (a merchant's checkout would supply them).
type purchaseInfo struct {
	Insurance        string         `json:"insurance"`
	ItemTotal        string         `json:"itemTotal"`
	Shipping         string         `json:"shipping"`
	TaxTotal         string         `json:"taxTotal"`
	Description      string         `json:"description"`
	Discount         string         `json:"discount"`
	Handling         string         `json:"handling"`
	ShippingDiscount string         `json:"shippingDiscount"`
	Items            []purchaseItem `json:"items"`
}

type purchaseItem struct {
	UnitPrice      string `json:"unitPrice"`
	ImgURL         string `json:"imgUrl"`
	Quantity       string `json:"quantity"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	Tax            string `json:"tax"`
	Category       string `json:"category"`
	SKU            string `json:"sku"`
	VirtualProduct bool   `json:"virtualProduct"`
}

type address struct {
	PhoneNumber string `json:"phoneNumber"`
	Province    string `json:"province"`
	City        string `json:"city"`
	CountryCode string `json:"countryCode"`
	GivenName   string `json:"givenName"`
	FamilyName  string `json:"familyName"`
	PostalCode  string `json:"postalCode"`
	Company     string `json:"company"`
	Line2       string `json:"line2"`
	Line1       string `json:"line1"`
}

type customer struct {
	PhoneNumber     string  `json:"phoneNumber"`
	ShippingAddress address `json:"shippingAddress"`
	BillingAddress  address `json:"billingAddress"`
	Email           string  `json:"email"`
}

type clientDetails struct {
	AcceptLanguage string `json:"acceptLanguage"`
	IPAddress      string `json:"ipAddress"`
	UserAgent      string `json:"userAgent"`
}

func fromFakeAddress(a fake.Address) address {
	return address{PhoneNumber: a.PhoneNumber, Province: a.Province, City: a.City, CountryCode: a.CountryCode,
		GivenName: a.GivenName, FamilyName: a.FamilyName, PostalCode: a.PostalCode, Company: a.Company, Line2: a.Line2, Line1: a.Line1}
}

// fakeCustomer returns a buyer as the Payment Object carries it, and the
// name a card holder would have.
func fakeCustomer(f *fake.Faker) (json.RawMessage, string) {
	c := f.Customer()
	b, _ := json.Marshal(customer{PhoneNumber: c.PhoneNumber, ShippingAddress: fromFakeAddress(c.ShippingAddress), BillingAddress: fromFakeAddress(c.BillingAddress), Email: c.Email})
	return b, c.BillingAddress.GivenName + " " + c.BillingAddress.FamilyName
}

func fakeClientDetails(f *fake.Faker) json.RawMessage {
	c := f.ClientDetails()
	b, _ := json.Marshal(clientDetails{AcceptLanguage: c.AcceptLanguage, IPAddress: c.IPAddress, UserAgent: c.UserAgent})
	return b
}

// fakePurchase returns a basket whose items add up to the amount exactly;
// shipping, tax and the rest are zero, so itemTotal equals amount.
func fakePurchase(f *fake.Faker, shop Shop, orderNo string, amount int64, currency string) json.RawMessage {
	zero := money.Format(0, currency)
	pi := purchaseInfo{Insurance: zero, ItemTotal: money.Format(amount, currency), Shipping: zero, TaxTotal: zero,
		Description: "Order #" + orderNo + " at " + shop.Name, Discount: zero, Handling: zero, ShippingDiscount: zero}
	for _, it := range f.Items(amount) {
		pi.Items = append(pi.Items, purchaseItem{
			UnitPrice: money.Format(it.UnitPriceMinor, currency), Quantity: fmt.Sprint(it.Quantity),
			ImgURL: fmt.Sprintf("https://%s.genmystore.com/images/%s.png", shop.Handle, strings.ToLower(it.SKU)),
			Name:   it.Name, Description: it.Name, Tax: zero, Category: it.Category, SKU: it.SKU,
		})
	}
	b, _ := json.Marshal(pi)
	return b
}

// holderFrom reads the billing name out of a customer object, if any.
func holderFrom(raw json.RawMessage) string {
	var c struct {
		BillingAddress struct {
			GivenName  string `json:"givenName"`
			FamilyName string `json:"familyName"`
		} `json:"billingAddress"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	return strings.TrimSpace(c.BillingAddress.GivenName + " " + c.BillingAddress.FamilyName)
}
