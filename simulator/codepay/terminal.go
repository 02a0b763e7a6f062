package codepay

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/pan"
)

// The virtual terminals: orders pushed to a terminal wait in its queue; the
// order at the head is on its screen, where a cashier, a buyer or a manager
// acts (Act; which action each screen allows is in states.go), and a
// reference transaction with nothing left to ask is performed by the
// terminal itself (drive). What the terminal shows is in views.go, its
// autopilot in autopilot.go.

// push puts an order in its terminal's queue: at the back (FIFO) or at the
// front (FILO), never ahead of an order the terminal has started.
func (s *System) push(ctx context.Context, fx *effects, t *Txn) (Terminal, error) {
	term, err := s.terminals.Update(ctx, t.TerminalSN, func(term *Terminal) error {
		if t.Options.QueueMode == "FILO" && len(term.Queue) > 0 {
			at := 0
			if head, err := s.txns.Get(ctx, term.Queue[0]); err == nil && started(&head) {
				at = 1
			}
			term.Queue = append(term.Queue[:at], append([]string{t.TransNo}, term.Queue[at:]...)...)
		} else {
			term.Queue = append(term.Queue, t.TransNo)
		}
		return nil
	})
	if err != nil {
		return term, fmt.Errorf("push to terminal %s: %w", t.TerminalSN, err)
	}
	s.record("terminal.order_pushed", fmt.Sprintf("terminal %s (%s): %s %s queued %s, position %d of %d",
		term.SN, onlineWord(term.Online), typeNames[t.TransType], t.MerchantOrderNo, t.Options.QueueMode, slices.Index(term.Queue, t.TransNo)+1, len(term.Queue)),
		t, map[string]any{"online": term.Online, "queue": len(term.Queue), "mode": t.Options.QueueMode})
	fx.drives = append(fx.drives, t.TerminalSN)
	return term, nil
}

// started reports whether the terminal has begun an order: a FILO push
// never goes ahead of it.
func started(t *Txn) bool {
	p := t.Progress
	return t.Status != StatusCreated || p.Confirmed || p.Approved || p.TipDone
}

func onlineWord(online bool) string {
	if online {
		return "online"
	}
	return "offline"
}

// dequeue removes an order from its terminal's queue.
func (s *System) dequeue(ctx context.Context, sn, transNo string) error {
	if sn == "" {
		return nil
	}
	_, err := s.terminals.Update(ctx, sn, func(term *Terminal) error {
		if i := slices.Index(term.Queue, transNo); i >= 0 {
			term.Queue = append(term.Queue[:i], term.Queue[i+1:]...)
		}
		return nil
	})
	if isNotFound(err) {
		return nil
	}
	return err
}

// drive lets an online terminal move on: an order at the head that became
// final is dropped, and a void, refund or capture at the head with nothing
// left to ask is performed. Each call handles the head once; whatever it
// finalizes asks for the terminal to be driven again (effects.drives).
func (s *System) drive(ctx context.Context, fx *effects, sn string) error {
	term, err := s.terminals.Get(ctx, sn)
	if err != nil {
		return fmt.Errorf("terminal %s: %w", sn, err)
	}
	if !term.Online || len(term.Queue) == 0 {
		return nil
	}
	head, err := s.txns.Get(ctx, term.Queue[0])
	if err != nil || head.Status.Final() {
		if err := s.dequeue(ctx, sn, term.Queue[0]); err != nil {
			return err
		}
		fx.drives = append(fx.drives, sn)
		return nil
	}
	fx.pilots = append(fx.pilots, sn)
	if stepOf(&head) != stepExecute {
		return nil
	}
	return s.execute(ctx, fx, &head)
}

// execute performs a pushed void, refund, pre-auth cancel or completion on
// its original, once the terminal has nothing left to ask. What was true at
// push time is checked again: the batch may have closed meanwhile.
func (s *System) execute(ctx context.Context, fx *effects, t *Txn) error {
	if err := s.setStatus(t, StatusProcessing, "performed by the terminal"); err != nil {
		return err
	}
	o, err := s.txns.Get(ctx, t.OrigTransNo)
	if err != nil {
		return fmt.Errorf("original %s of %s: %w", t.OrigTransNo, t.TransNo, err)
	}
	if aerr := s.mayReference(ctx, t.TransType, refAmount(t, &o), &o); aerr != nil {
		t.RespCode, t.RespMsg = "12", "[12]INVALID TRANSACTION: "+aerr.Message
		if err := s.setStatus(t, StatusFailed, aerr.Message); err != nil {
			return err
		}
		return s.finalize(ctx, fx, t)
	}
	return s.applyReference(ctx, fx, t, &o)
}

// finalize does what a final status brings: the order leaves the terminal's
// queue, receipts print, the merchant is notified, and the terminal moves on.
func (s *System) finalize(ctx context.Context, fx *effects, t *Txn) error {
	if err := s.save(ctx, t); err != nil {
		return err
	}
	if t.TerminalSN != "" && t.Channel == ChannelTerminal {
		if err := s.dequeue(ctx, t.TerminalSN, t.TransNo); err != nil {
			return err
		}
		s.printReceipts(t)
		if err := s.save(ctx, t); err != nil {
			return err
		}
		fx.drives = append(fx.drives, t.TerminalSN)
	}
	if t.NotifyURL != "" {
		fx.notify = append(fx.notify, *t)
	}
	return nil
}

// printReceipts honours receipt_print_mode (0 none, 1 merchant copy, 2
// customer copy, 3 both) for a completed terminal transaction.
func (s *System) printReceipts(t *Txn) {
	if t.Status != StatusSuccess {
		return
	}
	copies := map[int][]string{1: {"merchant"}, 2: {"customer"}, 3: {"merchant", "customer"}}[t.Options.ReceiptPrintMode]
	for _, c := range copies {
		s.record("terminal.receipt_printed", fmt.Sprintf("terminal %s printed the %s copy for %s", t.TerminalSN, c, t.MerchantOrderNo), t,
			map[string]any{"copy": c, "amount": fmtAmount(t.TransAmount(), t.Currency), "currency": t.Currency, "card": t.CardMasked})
	}
	if len(copies) > 0 {
		t.Progress.Receipts = fmt.Sprint(copies)
	}
}

// expire closes an order its expires ran out on: unpaid (9) or still
// processing (0: a challenge, a signature or the host that never came) →
// failed (1). A pre-authorization or sale already approved stays as it is.
func (s *System) expire(transNo string) {
	s.do(true, func(fx *effects) error {
		ctx := context.Background()
		t, err := s.txns.Get(ctx, transNo)
		if err != nil || t.Status.Final() || s.env.Clock.Now().Before(t.ExpiresAt) {
			return nil
		}
		why := fmt.Sprintf("expired: not paid within %s", t.ExpiresAt.Sub(t.CreatedAt))
		if t.Status == StatusProcessing {
			why = fmt.Sprintf("expired while processing (%s): any authorization is reversed", stepOf(&t))
			if t.HostTimeout {
				t.RespCode, t.RespMsg = "91", "[91]ISSUER OR SWITCH INOPERATIVE: host timeout, reversed"
			}
		}
		if err := s.setStatus(&t, StatusFailed, why); err != nil {
			return err
		}
		return s.finalize(ctx, fx, &t)
	})
}

// scheduleExpiry arms the order's expiry (a job due when it expires).
func (s *System) scheduleExpiry(t *Txn) {
	if t.ExpiresAt.IsZero() {
		return
	}
	s.schedule(jobs.Job{Kind: expireKind, Key: t.TransNo, Due: t.ExpiresAt})
}

// Action is something a cashier, a buyer or a manager does on a terminal.
type Action struct {
	Kind    string // online, offline, confirm, approve, decline, tip, card, wallet, sign, cancel
	TransNo string // when set, the order on screen must be this one
	Tip     string // decimal text, for tip
	Card    string // card number, for card
	Wallet  string // wallet name (e.g. Alipay+), for wallet
	QR      string // the wallet's QR payload, for wallet
	Decline bool   // for wallet: the wallet refuses
}

// terminalError is an admin-dialect refusal of a terminal action.
func terminalError(kind apierr.Kind, field, format string, args ...any) *apierr.Error {
	e := apierr.Field(kind, field, "terminal", format, args...)
	e.Status = apierr.HTTPStatus(kind)
	return e
}

// Act performs an action on a terminal and returns the terminal's view.
func (s *System) Act(ctx context.Context, sn string, a Action) (TerminalView, error) {
	err := s.do(false, func(fx *effects) error { return s.act(ctx, fx, sn, a) })
	if err != nil {
		return TerminalView{}, err
	}
	return s.terminalView(ctx, sn)
}

func (s *System) act(ctx context.Context, fx *effects, sn string, a Action) error {
	term, err := s.terminals.Get(ctx, sn)
	if err != nil {
		return orAbsent(err, terminalError(apierr.NotFound, "sn", "no terminal %s", sn))
	}
	switch a.Kind {
	case "online", "offline":
		online := a.Kind == "online"
		if term.Online != online {
			if _, err := s.terminals.Update(ctx, sn, func(t *Terminal) error { t.Online, t.Since = online, s.env.Clock.Now(); return nil }); err != nil {
				return err
			}
			s.env.Record(Name, "terminal."+a.Kind, fmt.Sprintf("terminal %s went %s with %d order(s) queued", sn, a.Kind, len(term.Queue)),
				map[string]string{"terminal_sn": sn}, map[string]any{"queue": len(term.Queue)})
		}
		if online {
			fx.drives = append(fx.drives, sn)
		}
		return nil
	}
	if !term.Online {
		return terminalError(apierr.Conflict, "sn", "terminal %s is offline: bring it online first", sn)
	}
	if len(term.Queue) == 0 {
		return terminalError(apierr.Conflict, "sn", "terminal %s shows no order", sn)
	}
	t, err := s.txns.Get(ctx, term.Queue[0])
	if err != nil {
		return fmt.Errorf("terminal %s head: %w", sn, err)
	}
	if a.TransNo != "" && a.TransNo != t.TransNo {
		return terminalError(apierr.Conflict, "trans_no", "terminal %s shows %s, not %s", sn, t.TransNo, a.TransNo)
	}
	step := stepOf(&t)
	if aerr := mayAct(sn, &t, step, a.Kind); aerr != nil {
		return aerr
	}
	ids := func(msg string, data map[string]any) {
		s.record("terminal."+a.Kind, fmt.Sprintf("terminal %s: %s", sn, msg), &t, data)
	}
	switch a.Kind {
	case "confirm":
		t.Progress.Confirmed = true
		ids("the cashier confirmed "+t.MerchantOrderNo, nil)
	case "approve", "decline":
		if a.Kind == "decline" {
			ids("the manager refused "+t.MerchantOrderNo, nil)
			if err := s.setStatus(&t, StatusCancelled, "the store manager refused it on the terminal"); err != nil {
				return err
			}
			return s.finalize(ctx, fx, &t)
		}
		t.Progress.Approved = true
		ids("the manager approved "+t.MerchantOrderNo, nil)
	case "tip":
		tip, aerr := amount("tip_amount", json.Number(a.Tip), t.Currency, false, false)
		if aerr != nil {
			return terminalError(apierr.Invalid, "tip_amount", "%s", aerr.Message)
		}
		t.Tip, t.Progress.TipDone = tip, true
		ids(fmt.Sprintf("tip of %s %s entered for %s", fmtAmount(tip, t.Currency), t.Currency, t.MerchantOrderNo), map[string]any{"tip": fmtAmount(tip, t.Currency)})
	case "card":
		if err := s.presentCard(&t, a.Card); err != nil {
			return err
		}
	case "wallet":
		if err := s.presentWallet(&t, a); err != nil {
			return err
		}
	case "sign":
		t.Progress.Signed = true
		ids("the buyer signed for "+t.MerchantOrderNo, nil)
		if err := s.setStatus(&t, StatusSuccess, "approved and signed"); err != nil {
			return err
		}
		if err := s.succeeded(ctx, &t); err != nil {
			return err
		}
	case "cancel":
		why := "cancelled on the terminal"
		if step == StepSignature {
			why = "cancelled on the terminal at the signature: the approved authorization is reversed"
		}
		ids("the cashier cancelled "+t.MerchantOrderNo, nil)
		if err := s.setStatus(&t, StatusCancelled, why); err != nil {
			return err
		}
	default:
		return terminalError(apierr.Invalid, "action", "unknown terminal action %q", a.Kind)
	}
	if t.Status.Final() {
		return s.finalize(ctx, fx, &t)
	}
	if err := s.save(ctx, &t); err != nil {
		return err
	}
	fx.drives = append(fx.drives, sn)
	return nil
}

// presentCard reads a card on the terminal and asks the host.
func (s *System) presentCard(t *Txn, number string) error {
	if len(number) < 12 || len(number) > 19 || !pan.Luhn(number) {
		return terminalError(apierr.Invalid, "card", "the terminal cannot read it (12 to 19 digits passing the Luhn check)")
	}
	c := s.lookupCard(number)
	if !brandAccepted(t.PayMethodID, c.brand) {
		return terminalError(apierr.Conflict, "card", "a %s card cannot pay an order for pay_method_id %s", brandName(c.brand), t.PayMethodID)
	}
	useCard(t, c, InstrumentCardPresent)
	t.PayScenario = "SWIPE_CARD"
	s.record("terminal.card", fmt.Sprintf("terminal %s read card %s for %s", t.TerminalSN, t.CardMasked, t.MerchantOrderNo), t,
		map[string]any{"card": t.CardMasked, "brand": c.brand})
	if err := s.setStatus(t, StatusProcessing, "card read, authorizing"); err != nil {
		return err
	}
	d := issuerDecision(c.profile)
	switch {
	case d.timeout:
		t.HostTimeout = true
		s.record("order.host_timeout", fmt.Sprintf("the host accepted %s and does not answer; it fails when the order expires", t.MerchantOrderNo), t, nil)
		return nil
	case !d.approved:
		t.RespCode, t.RespMsg = d.code, d.msg
		return s.setStatus(t, StatusFailed, "declined by the issuer: "+d.msg)
	}
	s.approve(t, d)
	if t.TransType == TypePreAuth {
		t.Authorized = t.TransAmount()
	}
	if t.Options.OnScreenSignature {
		s.record("terminal.signature_requested", fmt.Sprintf("terminal %s: approved, waiting for the buyer's signature on %s", t.TerminalSN, t.MerchantOrderNo), t, nil)
		return nil
	}
	if err := s.setStatus(t, StatusSuccess, "approved"); err != nil {
		return err
	}
	return s.succeeded(context.Background(), t)
}

// presentWallet pays with a QR wallet on the terminal: approved at once (no
// signature, no batch) unless the wallet is told to refuse.
func (s *System) presentWallet(t *Txn, a Action) error {
	if t.TransType != TypeSale {
		return terminalError(apierr.Conflict, "wallet", "a %s needs a card", typeNames[t.TransType])
	}
	name := a.Wallet
	if name == "" {
		name = "Alipay+"
	}
	t.Instrument = InstrumentWallet
	t.PayMethodID = name
	if t.PayScenario != "SCANQR_PAY" {
		t.PayScenario = "BSCANQR_PAY" // the terminal scanned the buyer's code
	}
	t.PayUserAccountID = s.env.IDs.Digits(16)
	t.PayPlatformNo = s.env.IDs.Digits(22)
	data := map[string]any{"wallet": name}
	if a.QR != "" {
		data["qr"] = a.QR
	}
	s.record("terminal.wallet", fmt.Sprintf("terminal %s scanned a %s code for %s", t.TerminalSN, name, t.MerchantOrderNo), t, data)
	if err := s.setStatus(t, StatusProcessing, "wallet code scanned"); err != nil {
		return err
	}
	if a.Decline {
		t.RespCode, t.RespMsg = "05", "[05]WALLET DECLINED"
		return s.setStatus(t, StatusFailed, "the wallet refused the payment")
	}
	s.approve(t, decision{code: "000", msg: "[000]APPROVAL"})
	if err := s.setStatus(t, StatusSuccess, "paid by wallet"); err != nil {
		return err
	}
	return s.succeeded(context.Background(), t)
}

// succeeded does what a payment's success brings: a card-present sale,
// completion or refund joins its terminal's open batch.
func (s *System) succeeded(ctx context.Context, t *Txn) error {
	if !t.Offline() {
		return nil
	}
	switch t.TransType {
	case TypeSale, TypeCashback, TypeCashWithdrawal, TypePreAuthCompletion, TypeRefund, TypeCompletionRefund:
		return s.addToBatch(ctx, t)
	}
	return nil
}
