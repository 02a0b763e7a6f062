package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/pspsim/pspsim/scenario"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/pan"
)

// actionSteps: what the buyer, the merchant, Genstore and the PSP do.
func actionSteps() scenario.Group {
	return scenario.Group{
		Name: "Buyers, merchants and time",
		Doc: "A buyer pays at the shop's checkout (Genstore sends the Payment Object to the app); the merchant captures, voids and refunds; " +
			"the buyer answers a 3-D Secure challenge; simulated time passes. Cards are TESTCARDS.md rows, a canary card, or an ECIES test vector.",
		Steps: []scenario.Step{
			{
				Pattern: `^a buyer pays "([^"]*)"(?: ([A-Z]{3}))? with the (Visa|Mastercard) test card (\d\d)( to be captured later)?$`,
				Doc:     "A buyer pays with a TESTCARDS.md card (the row decides the PSP's answer); \"to be captured later\" makes it manualCapture:true. Genstore's first attempt to send it happens before the step ends.",
				Example: `When a buyer pays "12.30" with the Visa test card 00 to be captured later`,
				Func: func(ctx context.Context, amount, currency, brand, row, later string) error {
					return mustWorld(ctx).payWithTestCard(ctx, amount, currency, brand, row, later != "")
				},
			},
			{
				Pattern: `^a buyer pays "([^"]*)" with the canary card( to be captured later)?$`,
				Doc:     "A buyer pays with the scenario's canary card (see `a canary card`): approved by the PSP.",
				Example: `When a buyer pays "23.10" with the canary card`,
				Func: func(ctx context.Context, amount, later string) error {
					return mustWorld(ctx).payWithCanary(ctx, amount, later != "")
				},
			},
			{
				Pattern: `^a buyer has paid "([^"]*)" with the (Visa|Mastercard) test card (\d\d)$`,
				Doc:     "A buyer pays (a sale, manualCapture:false) and the suite waits until Genstore records it successful; a payment that does not succeed is a verdict.",
				Example: `Given a buyer has paid "40.00" with the Visa test card 00`,
				Func: func(ctx context.Context, amount, brand, row string) error {
					w := mustWorld(ctx)
					if err := w.payWithTestCard(ctx, amount, "", brand, row, false); err != nil {
						return err
					}
					return w.expectResult(ctx, genstore.KindPayment, true, "payment", false)
				},
			},
			{
				Pattern: `^a buyer has paid "([^"]*)" with the canary card$`,
				Doc:     "As above, with the scenario's canary card.",
				Example: `Given a buyer has paid "23.30" with the canary card`,
				Func: func(ctx context.Context, amount string) error {
					w := mustWorld(ctx)
					if err := w.payWithCanary(ctx, amount, false); err != nil {
						return err
					}
					return w.expectResult(ctx, genstore.KindPayment, true, "payment", false)
				},
			},
			{
				Pattern: `^a buyer pays "([^"]*)" with the ECIES vector "([^"]*)"$`,
				Doc:     "Genstore sends a payment whose paymentMethod.data is an ECIES test vector of simulator/ecies/testdata/ecies-vectors.json, made for the app's registered key (see docs/CONFORMANCE.md).",
				Example: `When a buyer pays "19.00" with the ECIES vector "suit-downgrade"`,
				Func: func(ctx context.Context, amount, name string) error {
					w := mustWorld(ctx)
					v, err := w.h.vectors.get(name)
					if err != nil {
						return err
					}
					w.vector = &v
					if err := w.registerCard(ctx, v.Sealed); err != nil {
						return err
					}
					return w.pay(ctx, amount, "", false, map[string]any{"paymentMethodData": json.RawMessage(v.Data)}, v.Card)
				},
			},
			{
				Pattern: `^a canary card$`,
				Doc:     "Draws a card number that is Luhn-valid, unique to the scenario and in no test table (the PSP approves it), and registers it with the simulator (`POST /_sim/canaries`), which journals privacy.leak wherever it sees it.",
				Example: `Given a canary card`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					w.canary = w.newCanary()
					return w.registerCard(ctx, w.canary)
				},
			},
			{
				Pattern: `^the merchant (captures|refunds) "([^"]*)"( without Genstore's own limit check)?$`,
				Doc:     "The merchant captures or refunds part of the payment. \"without Genstore's own limit check\" has Genstore send an amount above the limit, to see whether the app enforces it.",
				Example: `When the merchant refunds "15.00" without Genstore's own limit check`,
				Func: func(ctx context.Context, verb, amount, unchecked string) error {
					w := mustWorld(ctx)
					body := map[string]any{"amount": amount}
					if unchecked != "" {
						body["unchecked"] = true
					}
					return w.merchant(ctx, verb, body)
				},
			},
			{
				Pattern: `^the merchant (captures|voids|refunds) the payment$`,
				Doc:     "The merchant captures in full, voids, or refunds what is left of the payment.",
				Example: `When the merchant voids the payment`,
				Func: func(ctx context.Context, verb string) error {
					w := mustWorld(ctx)
					return w.merchant(ctx, verb, nil)
				},
			},
			{
				Pattern: `^the buyer answers the challenge with the one-time password "([^"]*)"$`,
				Doc:     "Genstore's buyer opens the acknowledgement's redirectUrl, submits the challenge page (TESTCARDS.md: 123456 passes, 000000 fails) and follows the redirects back to the shop.",
				Example: `When the buyer answers the challenge with the one-time password "123456"`,
				Func: func(ctx context.Context, otp string) error {
					w := mustWorld(ctx)
					return w.challenge(ctx, map[string]any{"otp": otp, "action": "submit"})
				},
			},
			{
				Pattern: `^the buyer abandons the challenge$`,
				Doc:     "Genstore's buyer opens the redirectUrl and presses Cancel on the challenge page.",
				Example: `When the buyer abandons the challenge`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					return w.challenge(ctx, map[string]any{"action": "cancel"})
				},
			},
			{
				Pattern: `^the PSP settles its refunds$`,
				Doc:     "Once the app has done what it owes (its refunds have reached the PSP) and is quiet, moves the clock 6 s: the card gateway settles refunds 5 s after taking them and notifies the app (CodePay settled them when it answered).",
				Example: `And the PSP settles its refunds`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					return w.advance(ctx, 6*time.Second)
				},
			},
			{
				Pattern: `^the PSP fails to settle the refund$`,
				Doc:     "(@vmgateway: CodePay settles a refund when it answers) Once the app's refund has reached the PSP, the card gateway settles it as failed (the processor declined it: `POST /_sim/vmgateway/refunds/{refundId}/settle` `{\"result\":\"failed\"}`) and notifies the app.",
				Example: `And the PSP fails to settle the refund`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					return w.settleRefunds(ctx, "failed")
				},
			},
			{
				Pattern: `^the issuer refuses the decoupled authentication$`,
				Doc:     "Once the app's payment is waiting at the PSP for a decoupled 3-D Secure authentication (TESTCARDS.md 13), the issuer refuses it (`POST /_sim/threeds/challenges/{acsTransId}/complete` `{\"result\":\"fail\"}`): the PSP fails the payment and notifies the app.",
				Example: `When the issuer refuses the decoupled authentication`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					return w.refuseDecoupled(ctx)
				},
			},
			{
				Pattern: `^the authorization lapses at the PSP$`,
				Doc:     "Once the app has done what it owes, (@vmgateway) moves the clock past the card gateway's authorization lifetime (7 days): the PSP releases an uncaptured authorization by itself (EXPIRED).",
				Example: `And the authorization lapses at the PSP`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					return w.advance(ctx, 7*24*time.Hour+time.Minute)
				},
			},
			{
				Pattern: `^Genstore retries the payment request that got no acknowledgement in time$`,
				Doc:     "Once the app has done what it owes for the first delivery (its PSP call, and a callback once the PSP's outcome is final), moves the clock to Genstore's first payment retry (1 s).",
				Example: `When Genstore retries the payment request that got no acknowledgement in time`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					return w.advance(ctx, time.Second)
				},
			},
			{
				Pattern: `^Genstore's clock reaches the first reconciliation$`,
				Doc:     "Once the app has done what it owes (its PSP call, and a callback attempt once the PSP's outcome is final), moves the clock 5 minutes: Genstore asks the app's query endpoint about what has no result yet (docs/CONTRACT.md §2.7).",
				Example: `And Genstore's clock reaches the first reconciliation`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					return w.advance(ctx, 5*time.Minute+time.Second)
				},
			},
		},
	}
}

// pay has a buyer pay at the shop: Genstore creates the payment and makes its
// first attempt to send it before answering.
func (w *world) pay(ctx context.Context, amount, currency string, later bool, extra map[string]any, card string) error {
	body := map[string]any{"clientId": w.h.App.ClientID, "amount": amount, "manualCapture": later}
	if currency != "" {
		body["currency"] = currency
	}
	for k, v := range extra {
		body[k] = v
	}
	if err := w.registerCard(ctx, card); err != nil {
		return err
	}
	var p gsPayment
	if err := w.h.admin(ctx, "POST", w.shopPath()+"/payments", body, http.StatusCreated, &p); err != nil {
		return fmt.Errorf("the buyer could not pay: %w", err)
	}
	w.paymentID, w.amount, w.currency, w.card = p.PaymentID, amount, p.Currency, card
	return nil
}

// payWithTestCard has a buyer pay with a TESTCARDS.md card; the verdicts
// read its row (a 3-D Secure failure row must never be authorized).
func (w *world) payWithTestCard(ctx context.Context, amount, currency, brand, row string, later bool) error {
	number, err := w.testCard(brand, row)
	if err != nil {
		return err
	}
	w.cardRow = row
	return w.pay(ctx, amount, currency, later, map[string]any{"card": map[string]any{"number": number}}, number)
}

// payWithCanary has a buyer pay with the scenario's canary card.
func (w *world) payWithCanary(ctx context.Context, amount string, later bool) error {
	if err := w.needCanary(); err != nil {
		return err
	}
	return w.pay(ctx, amount, "", later, map[string]any{"card": map[string]any{"number": w.canary}}, w.canary)
}

// needCanary refuses a step that needs the scenario's canary card before
// `a canary card` drew one: a mistake in the feature, not the app's.
func (w *world) needCanary() error {
	if w.canary == "" {
		return errors.New(`no canary card: start with Given a canary card`)
	}
	return nil
}

// merchant starts a capture, void or refund and remembers its id.
func (w *world) merchant(ctx context.Context, verb string, body map[string]any) error {
	kind := map[string]string{"captures": genstore.KindCapture, "voids": genstore.KindVoid, "refunds": genstore.KindRefund}[verb]
	if w.paymentID == "" {
		return errors.New("no payment yet in this scenario: a buyer must pay first")
	}
	var out struct {
		Operation struct {
			ID string `json:"id"`
		} `json:"operation"`
	}
	var send any // no body at all, not JSON null, when the merchant gives no amount
	if body != nil {
		send = body
	}
	if err := w.h.admin(ctx, "POST", w.shopPath()+"/payments/"+url.PathEscape(w.paymentID)+"/"+verb, send, http.StatusCreated, &out); err != nil {
		return fmt.Errorf("Genstore did not start the %s: %w", kind, err)
	}
	w.ops[kind] = out.Operation.ID
	return nil
}

// challenge has Genstore's buyer follow the redirectUrl and act on the page.
func (w *world) challenge(ctx context.Context, body map[string]any) error {
	p, err := w.payment(ctx)
	if err != nil {
		return err
	}
	if p.Ack == nil || p.Ack.RedirectURL == "" {
		return verdict(ThreeDSNoRedirect, describeOutcome(paymentOutcome(p)),
			"the payment of card %s needs a challenge, and the acknowledgement sends the buyer nowhere", pan.Mask(w.card))
	}
	status, data, err := w.h.call(ctx, "POST", w.shopPath()+"/payments/"+url.PathEscape(w.paymentID)+"/buyer/challenge", body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return verdict(ThreeDSNoReturn, []string{fmt.Sprintf("Genstore's buyer at the redirectUrl: %d %s", status, clip(data, 300))},
			"the buyer could not complete the challenge the redirectUrl leads to and be sent back to the shop")
	}
	return nil
}

// settleRefunds settles the PSP's pending refunds of the scenario's payment
// with a result (failed, succeeded), once the app's refund call reached it.
func (w *world) settleRefunds(ctx context.Context, result string) error {
	if !w.h.psp.settlesRefundsLater() {
		return fmt.Errorf("%s settles a refund when it answers it: a scenario that settles refunds later is for the card gateway (tag it @vmgateway)", w.h.psp.system())
	}
	if err := w.awaitOwed(ctx); err != nil {
		return err
	}
	ps, err := w.h.pspPayments(ctx, w.start)
	if err != nil {
		return err
	}
	n := 0
	for _, p := range ps {
		for _, r := range p.Refunds {
			if r.Status != "PENDING" {
				continue
			}
			if err := w.h.admin(ctx, "POST", "/_sim/vmgateway/refunds/"+url.PathEscape(r.RefundID)+"/settle", map[string]any{"result": result}, http.StatusOK, nil); err != nil {
				return err
			}
			n++
		}
	}
	if n == 0 {
		o, _ := w.outcomeOf(ctx, genstore.KindRefund)
		return verdict(RefundAmountWrong, append(pspRefs(ps), describeOutcome(o)...), "the PSP holds no pending refund of this scenario to settle: the app did not refund at the PSP")
	}
	return nil
}

// refuseDecoupled has the issuer refuse the decoupled authentication the
// scenario's PSP payment waits for.
func (w *world) refuseDecoupled(ctx context.Context) error {
	if err := w.awaitOwed(ctx); err != nil {
		return err
	}
	ps, err := w.h.pspPayments(ctx, w.start)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.ThreeDs != nil && p.ThreeDs.ACSTransID != "" && p.ThreeDs.TransStatus == "D" {
			return w.h.admin(ctx, "POST", "/_sim/threeds/challenges/"+url.PathEscape(p.ThreeDs.ACSTransID)+"/complete", map[string]any{"result": "fail"}, http.StatusOK, nil)
		}
	}
	o, _ := w.outcomeOf(ctx, genstore.KindPayment)
	return verdict(ResultContradictsPSP, append(pspRefs(ps), describeOutcome(o)...), "the PSP holds no payment of this scenario waiting for a decoupled authentication: the app did not charge the card as Genstore asked")
}
