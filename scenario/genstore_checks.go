package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/genstore"
)

// genstoreCheckSteps check what Genstore recorded and what the app received.
func genstoreCheckSteps() []Step {
	return []Step{
		{
			Pattern: `^every report that agrees with the recorded result got 200 and every other 409$`,
			Doc:     "Checks the last burst of callbacks against the result Genstore kept: exactly one result won.",
			Example: `Then every report that agrees with the recorded result got 200 and every other 409`,
			Func: func(ctx context.Context) (context.Context, error) {
				ctx, g := genstoreOf(ctx)
				v, err := WorldFrom(ctx).payment(ctx)
				if err != nil {
					return ctx, err
				}
				won, _ := Field(mustJSON(v), "result.result")
				g.mu.Lock()
				defer g.mu.Unlock()
				if len(g.concurrent) == 0 {
					return ctx, fmt.Errorf("no burst of callbacks was sent")
				}
				for i, a := range g.concurrent {
					want := 409
					if a.ok == (won == true) {
						want = 200
					}
					if a.status != want {
						return ctx, fmt.Errorf("callback %d (result %t) got %d, want %d (recorded result %v)", i, a.ok, a.status, want, won)
					}
				}
				return ctx, nil
			},
		},
		{
			Pattern: `^the payment has status "(\d)"$`,
			Doc:     "Checks the remembered payment's status as seed 001 numbers it: 1 process, 2 success, 3 auth_void, 4 auth_success, 9 failure.",
			Example: `Then the payment has status "2"`,
			Func: func(ctx context.Context, status string) (context.Context, error) {
				v, err := WorldFrom(ctx).payment(ctx)
				if err != nil {
					return ctx, err
				}
				if v["status"] != status {
					res, _ := json.Marshal(v["result"])
					return ctx, fmt.Errorf("the payment has status %v (%v), not %s; result %s", v["status"], v["statusName"], status, res)
				}
				return ctx, nil
			},
		},
		{
			Pattern: `^the (capture|void|refund) is (processing|succeeded|failed)$`,
			Doc:     "Checks the status of the remembered capture, void or refund.",
			Example: `Then the refund is succeeded`,
			Func: func(ctx context.Context, kind, status string) (context.Context, error) {
				op, err := WorldFrom(ctx).operationOf(ctx, kind)
				if err != nil {
					return ctx, err
				}
				if op["status"] != status {
					return ctx, fmt.Errorf("the %s is %v, not %s", kind, op["status"], status)
				}
				return ctx, nil
			},
		},
		{
			Pattern: `^the merchant sees "([^"]*)" as the payment's (captured|refunded|refundable|fee|net|amount|statusName|channelTrxNo) amount$`,
			Doc:     "Checks a field of the merchant's view of the remembered payment.",
			Example: `Then the merchant sees "7.34" as the payment's refundable amount`,
			Func: func(ctx context.Context, want, name string) (context.Context, error) {
				v, err := WorldFrom(ctx).payment(ctx)
				if err != nil {
					return ctx, err
				}
				if str := fmt.Sprint(v[name]); str != want {
					return ctx, fmt.Errorf("%s is %s, not %s", name, str, want)
				}
				return ctx, nil
			},
		},
		{
			Pattern: `^the pay transaction shows amount "([^"]*)", fee "([^"]*)" and net "([^"]*)"$`,
			Doc:     "The app asks GET /api/202412/payment/{paymentId} (seed 001) with its token and checks amount, fee and net.",
			Example: `Then the pay transaction shows amount "100.00", fee "3.20" and net "96.80"`,
			Func: func(ctx context.Context, amount, fee, net string) (context.Context, error) {
				ctx, app, err := currentApp(ctx)
				if err != nil {
					return ctx, err
				}
				w := WorldFrom(ctx)
				id, _ := w.Get("paymentId")
				r, err := app.Call(ctx, "GET", "/genstore/api/202412/payment/"+id, nil)
				if err != nil {
					return ctx, err
				}
				w.Last = &Response{Status: r.Status, Body: r.Body}
				var pt struct{ Payment genstore.PayTransaction }
				json.Unmarshal(r.Body, &pt)
				if r.Status != 200 || pt.Payment.Amount != amount || pt.Payment.Fee != fee || pt.Payment.Net != net {
					return ctx, fmt.Errorf("pay transaction: %d %s", r.Status, clip(r.Body))
				}
				return ctx, nil
			},
		},
		{
			Pattern: `^the app received (\d+) (payment|capture|void|refund|payment_query|refund_query) requests?$`,
			Doc:     "Counts what the app received of a kind (every attempt counts).",
			Example: `Then the app received 4 payment requests`,
			Func: func(ctx context.Context, n int, kind string) (context.Context, error) {
				ctx, app, err := currentApp(ctx)
				if err != nil {
					return ctx, err
				}
				if got := len(app.Requests(kind)); got != n {
					return ctx, fmt.Errorf("the app received %d %s requests, not %d", got, kind, n)
				}
				return ctx, nil
			},
		},
		{
			Pattern: `^every request the app received was correctly signed$`,
			Doc:     "Each request's hmac (and timestamp, in-process) verified with the app's secret, and each body's X-Genstore-Hmac-Sha256 too.",
			Example: `Then every request the app received was correctly signed`,
			Func: func(ctx context.Context) (context.Context, error) {
				ctx, app, err := currentApp(ctx)
				if err != nil {
					return ctx, err
				}
				for _, r := range app.Requests("") {
					if r.SignatureErr != "" || (len(r.Body) > 0 && !r.BodyHMACOK) {
						return ctx, fmt.Errorf("%s request %s: signature %q, body hmac ok %t", r.Kind, r.ID, r.SignatureErr, r.BodyHMACOK)
					}
				}
				return ctx, nil
			},
		},
		{
			Pattern: `^every (payment|capture|void|refund) request carried the same body and Idempotency-Key$`,
			Doc:     "Retries resend byte-identical JSON and the operation's id as Idempotency-Key.",
			Example: `Then every payment request carried the same body and Idempotency-Key`,
			Func: func(ctx context.Context, kind string) (context.Context, error) {
				ctx, app, err := currentApp(ctx)
				if err != nil {
					return ctx, err
				}
				reqs := app.Requests(kind)
				if len(reqs) == 0 {
					return ctx, fmt.Errorf("the app received no %s request", kind)
				}
				for i, r := range reqs {
					if !bytes.Equal(r.Body, reqs[0].Body) || r.Header.Get("Idempotency-Key") != reqs[0].ID {
						return ctx, fmt.Errorf("%s request %d differs from the first (Idempotency-Key %q)", kind, i+1, r.Header.Get("Idempotency-Key"))
					}
				}
				return ctx, nil
			},
		},
		{
			Pattern: `^the (payment|capture|void|refund) requests came at "([^"]*)"$`,
			Doc:     "The attempts' signed timestamps, as offsets from the first one (comma-separated Go durations, 0 first).",
			Example: `Then the payment requests came at "0s, 1s, 4s, 14s"`,
			Func: func(ctx context.Context, kind, offsets string) (context.Context, error) {
				ctx, app, err := currentApp(ctx)
				if err != nil {
					return ctx, err
				}
				var got []string
				var first int64
				for i, r := range app.Requests(kind) {
					ts, _ := strconv.ParseInt(r.Query.Get("timestamp"), 10, 64)
					if i == 0 {
						first = ts
					}
					got = append(got, (time.Duration(ts-first) * time.Second).String())
				}
				var want []string
				for _, o := range strings.Split(offsets, ",") {
					d, err := time.ParseDuration(strings.TrimSpace(o))
					if err != nil {
						return ctx, fmt.Errorf("offset %q: %w", o, err)
					}
					want = append(want, d.String())
				}
				if strings.Join(got, ", ") != strings.Join(want, ", ") {
					return ctx, fmt.Errorf("%s requests came at %s, not %s", kind, strings.Join(got, ", "), strings.Join(want, ", "))
				}
				return ctx, nil
			},
		},
		{
			Pattern: `^the app decrypted the card "(\d+)" with its key$`,
			Doc:     "The card package of the last payment request opened with the app's private key to this number.",
			Example: `Then the app decrypted the card "4000123456000019" with its key`,
			Func: func(ctx context.Context, number string) (context.Context, error) {
				ctx, app, err := currentApp(ctx)
				if err != nil {
					return ctx, err
				}
				reqs := app.Requests(genstore.KindPayment)
				if len(reqs) == 0 {
					return ctx, fmt.Errorf("the app received no payment request")
				}
				r := reqs[len(reqs)-1]
				if r.CardErr != nil || r.Card == nil || r.Card.Number != number {
					return ctx, fmt.Errorf("card package: %v (card %v)", r.CardErr, r.Card)
				}
				if bytes.Contains(r.Body, []byte(number)) {
					return ctx, fmt.Errorf("the card number travels in clear")
				}
				return ctx, nil
			},
		},
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
