package scenario

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// noRedirect returns the world's client without redirect following, so a
// step sees the 303 of a page and where it points.
func (w *World) noRedirect() *http.Client {
	c := *w.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// challengeURL is the challenge page of the last answer (a payment waiting
// for its challenge), or the one remembered as challengeUrl.
func (w *World) challengeURL() (string, error) {
	if w.Last != nil {
		if v, ok := Field(w.Last.Body, "nextAction.redirectUrl"); ok && strings.Contains(text(v), "/3ds/challenge/") {
			w.Set("challengeUrl", text(v))
		}
	}
	u, ok := w.Get("challengeUrl")
	if !ok {
		return "", fmt.Errorf("no 3-D Secure challenge: the last answer has no nextAction.redirectUrl to /3ds/challenge/")
	}
	return u, nil
}

// postChallenge submits the challenge page's form and remembers where the
// buyer is sent (location).
func (w *World) postChallenge(ctx context.Context, action, otp string) error {
	u, err := w.challengeURL()
	if err != nil {
		return err
	}
	form := url.Values{"action": {action}}
	if otp != "" {
		form.Set("otp", otp)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := w.noRedirect().Do(req)
	if err != nil {
		return fmt.Errorf("posting the challenge page: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("the challenge page answered %d, not 303", res.StatusCode)
	}
	w.Set("location", res.Header.Get("Location"))
	return nil
}

func threeDSSteps() Group {
	return Group{
		Name: "3-D Secure",
		Doc: "Act as the cardholder on pspsim's 3-D Secure challenge page (`/3ds/challenge/{acsTransId}`, shared by every PSP), " +
			"or complete a challenge through the admin API, and check the authentication a payment carries.",
		Steps: []Step{
			{
				Pattern: `^the buyer opens the 3-D Secure challenge$`,
				Doc: "Opens the challenge page of the last answer's `nextAction.redirectUrl` (remembered as `challengeUrl`) and checks " +
					"its contract: a form `pspsim-challenge` with an `otp` input and `action` buttons `submit` and `cancel`, and no card number.",
				Example: `When the buyer opens the 3-D Secure challenge`,
				Func: func(ctx context.Context) error {
					w := WorldFrom(ctx)
					u, err := w.challengeURL()
					if err != nil {
						return err
					}
					req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
					res, err := w.Client.Do(req)
					if err != nil {
						return err
					}
					defer res.Body.Close()
					b, _ := io.ReadAll(res.Body)
					page := string(b)
					if res.StatusCode != 200 {
						return fmt.Errorf("the challenge page answered %d", res.StatusCode)
					}
					for _, want := range []string{`<form id="pspsim-challenge" method="post"`, `name="otp"`, `name="action" value="submit"`, `name="action" value="cancel"`} {
						if !strings.Contains(page, want) {
							return fmt.Errorf("the challenge page lacks %s", want)
						}
					}
					if !strings.Contains(page, "******") {
						return fmt.Errorf("the challenge page shows no masked card number")
					}
					return nil
				},
			},
			{
				Pattern: `^the buyer enters the code "(\d+)" on the challenge page$`,
				Doc:     "Submits the challenge form with a one-time code (`123456` passes, `000000` fails); the page answers 303 (remembered as `location`).",
				Example: `When the buyer enters the code "123456" on the challenge page`,
				Func: func(ctx context.Context, otp string) error {
					return WorldFrom(ctx).postChallenge(ctx, "submit", otp)
				},
			},
			{
				Pattern: `^the buyer cancels the challenge$`,
				Doc:     "Presses Cancel on the challenge page: the authentication is abandoned (U, reason 14).",
				Example: `When the buyer cancels the challenge`,
				Func: func(ctx context.Context) error {
					return WorldFrom(ctx).postChallenge(ctx, "cancel", "")
				},
			},
			{
				Pattern: `^the challenge of order "([^"]*)" is completed with "(pass|fail|abandon)" through the admin API$`,
				Doc:     "Completes a card gateway payment's challenge without a browser (`completeThreeDSChallenge`).",
				Example: `When the challenge of order "A1000001" is completed with "pass" through the admin API`,
				Func: func(ctx context.Context, orderNo, result string) error {
					w := WorldFrom(ctx)
					r, err := w.vmInquire(ctx, orderNo)
					if err != nil {
						return err
					}
					acs, ok := Field(r.Body, "threeDs.acsTransId")
					if !ok {
						return fmt.Errorf("the payment of order %s has no 3-D Secure authentication", orderNo)
					}
					r, err = w.Do(ctx, "POST", "/_sim/threeds/challenges/"+text(acs)+"/complete", []byte(`{"result":"`+result+`"}`))
					if err != nil {
						return err
					}
					return want(r, 200, "completing the challenge")
				},
			},
			{
				Pattern: `^the 3-D Secure result of order "([^"]*)" is "([YANRUCD])" with ECI "(\d\d)"$`,
				Doc:     "Inquires the payment and checks its authentication's transStatus and ECI.",
				Example: `Then the 3-D Secure result of order "A1000001" is "Y" with ECI "05"`,
				Func: func(ctx context.Context, orderNo, status, eci string) error {
					r, err := WorldFrom(ctx).vmInquire(ctx, orderNo)
					if err != nil {
						return err
					}
					s, _ := Field(r.Body, "threeDs.transStatus")
					e, _ := Field(r.Body, "threeDs.eci")
					if text(s) != status || text(e) != eci {
						return fmt.Errorf("the authentication is %s with ECI %s, not %s with %s", text(s), text(e), status, eci)
					}
					return nil
				},
			},
		},
	}
}
