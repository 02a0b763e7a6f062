package codepay

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/pan"
)

// A terminal's autopilot plays the cashier and the buyer: once the terminal
// shows an order, it waits its delay on the clock, then performs the action
// each screen asks for through the same Act path a person would take, so
// that scenarios need not click through every screen.

// SetAutopilot sets (or, with nil, clears) a terminal's autopilot.
func (s *System) SetAutopilot(ctx context.Context, sn string, p *Autopilot) (TerminalView, error) {
	err := s.do(false, func(fx *effects) error {
		if p != nil && p.Card != "" {
			if !pan.Luhn(p.Card) || len(p.Card) < 12 || len(p.Card) > 19 {
				return terminalError(apierr.Invalid, "card", "12 to 19 digits passing the Luhn check")
			}
			p.CardMask = pan.Mask(p.Card)
		}
		_, err := s.terminals.Update(ctx, sn, func(t *Terminal) error { t.Autopilot = p; return nil })
		if isNotFound(err) {
			return terminalError(apierr.NotFound, "sn", "no terminal %s", sn)
		}
		if err != nil {
			return err
		}
		msg := "autopilot off"
		data := map[string]any{}
		if p != nil {
			msg = fmt.Sprintf("autopilot on: after %s, pay with %s", p.Delay, firstNonEmpty(p.CardMask, p.Wallet, "nothing"))
			data = map[string]any{"delay": p.Delay.String(), "card": p.CardMask, "wallet": p.Wallet, "sign": p.Sign, "approve": p.Approve}
		}
		s.env.Record(Name, "terminal.autopilot", "terminal "+sn+": "+msg, map[string]string{"terminal_sn": sn}, data)
		fx.pilots = append(fx.pilots, sn)
		return nil
	})
	if err != nil {
		return TerminalView{}, err
	}
	return s.terminalView(ctx, sn)
}

func firstNonEmpty(v ...string) string {
	for _, x := range v {
		if x != "" {
			return x
		}
	}
	return ""
}

// schedulePilot arms the autopilot for the order a terminal shows, once: a
// job due after the autopilot's delay (at once without one). An order whose
// job is pending is not armed again, so its delay does not start over.
func (s *System) schedulePilot(sn string) {
	ctx := context.Background()
	term, err := s.terminals.Get(ctx, sn)
	if err != nil || !term.Online || term.Autopilot == nil || len(term.Queue) == 0 {
		return
	}
	head := term.Queue[0]
	if term.Autopilot.Delay <= 0 {
		s.runPilot(sn, head, false)
		return
	}
	key := sn + "/" + head
	if s.env.Jobs.Pending(pilotKind, key) {
		return
	}
	payload, err := json.Marshal(pilotJob{SN: sn, TransNo: head})
	if err != nil {
		return
	}
	s.schedule(jobs.Job{Kind: pilotKind, Key: key, Due: s.env.Clock.Now().Add(term.Autopilot.Delay), Payload: payload})
}

// runPilot completes what the terminal shows for one order, screen by
// screen, as far as the autopilot's settings allow. inTimer: it runs from a
// clock timer (notifications are then sent in order, in this goroutine).
func (s *System) runPilot(sn, transNo string, inTimer bool) {
	ctx := context.Background()
	for i := 0; i < 8; i++ {
		term, err := s.terminals.Get(ctx, sn)
		if err != nil || !term.Online || term.Autopilot == nil || len(term.Queue) == 0 || term.Queue[0] != transNo {
			return
		}
		t, err := s.txns.Get(ctx, transNo)
		if err != nil {
			return
		}
		p := term.Autopilot
		a := Action{TransNo: transNo}
		switch stepOf(&t) {
		case StepConfirm:
			a.Kind = "confirm"
		case StepApproval:
			a.Kind = "decline"
			if p.Approve {
				a.Kind = "approve"
			}
		case StepTip:
			a.Kind, a.Tip = "tip", firstNonEmpty(p.Tip, "0")
		case StepPayment:
			switch {
			case p.Card != "":
				a.Kind, a.Card = "card", p.Card
			case p.Wallet != "":
				a.Kind, a.Wallet = "wallet", p.Wallet
			default:
				return
			}
		case StepSignature:
			if !p.Sign {
				return
			}
			a.Kind = "sign"
		default:
			return
		}
		if err := s.do(inTimer, func(fx *effects) error { return s.act(ctx, fx, sn, a) }); err != nil {
			s.env.Record(Name, "terminal.autopilot_stopped", fmt.Sprintf("terminal %s autopilot stopped on %s: %v", sn, transNo, err),
				map[string]string{"terminal_sn": sn, "trans_no": transNo}, nil)
			return
		}
	}
}
