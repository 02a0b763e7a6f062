package queueapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// gateway is a client of the card gateway (specs/vmgateway.yaml): a bearer token per
// environment, renewed when the gateway answers 401 (tokens expire on the gateway's clock).
type gateway struct {
	base   string
	creds  map[string][2]string // env → appId, secret
	client *http.Client

	mu     sync.Mutex
	tokens map[string]string
}

func newGateway(base string, creds map[string][2]string) *gateway {
	return &gateway{base: base, creds: creds, client: &http.Client{Timeout: 5 * time.Second}, tokens: map[string]string{}}
}

// gwError is an error answer of the gateway, or none at all (Status 0).
type gwError struct {
	Status int
	Code   string `json:"code"`
}

func (e *gwError) Error() string { return fmt.Sprintf("gateway %d %s", e.Status, e.Code) }

// unknown reports whether an error leaves the gateway's outcome unknown: no answer, or a 5xx.
func unknown(err error) bool {
	var ge *gwError
	return err != nil && (!errors.As(err, &ge) || ge.Status == 0 || ge.Status >= 500)
}

func code(err error) string {
	var ge *gwError
	if errors.As(err, &ge) {
		return ge.Code
	}
	return ""
}

func (g *gateway) token(ctx context.Context, env string, renew bool) (string, error) {
	g.mu.Lock()
	t := g.tokens[env]
	g.mu.Unlock()
	if t != "" && !renew {
		return t, nil
	}
	c := g.creds[env]
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err := g.do(ctx, "/v1/auth/token", "", map[string]string{"appId": c[0], "secret": c[1]}, &out); err != nil {
		return "", err
	}
	g.mu.Lock()
	g.tokens[env] = out.AccessToken
	g.mu.Unlock()
	return out.AccessToken, nil
}

// call POSTs in to path in env and decodes the answer into out.
func (g *gateway) call(ctx context.Context, env, path string, in, out any) error {
	t, err := g.token(ctx, env, false)
	if err != nil {
		return err
	}
	err = g.do(ctx, path, t, in, out)
	var ge *gwError
	if errors.As(err, &ge) && ge.Status == http.StatusUnauthorized {
		if t, err = g.token(ctx, env, true); err != nil {
			return err
		}
		err = g.do(ctx, path, t, in, out)
	}
	return err
}

func (g *gateway) do(ctx context.Context, path, token string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	defer clear(b) // it may hold a card number: not left for the garbage collector
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := g.client.Do(req)
	if err != nil {
		return &gwError{} // no answer: the outcome is unknown
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return &gwError{}
	}
	if res.StatusCode/100 != 2 {
		e := &gwError{Status: res.StatusCode}
		_ = json.Unmarshal(data, e)
		return e
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &gwError{}
	}
	return nil
}

// gwPayment is the part of the gateway's Payment the app reads.
type gwPayment struct {
	TradeNo          string `json:"tradeNo"`
	Status           string `json:"status"`
	AuthorizedAmount string `json:"authorizedAmount"`
	CapturedAmount   string `json:"capturedAmount"`
	FailureCode      string `json:"failureCode"`
	FailureMessage   string `json:"failureMessage"`
	ThreeDs          *struct {
		TransStatus string `json:"transStatus"`
	} `json:"threeDs"`
	NextAction *struct {
		RedirectURL string `json:"redirectUrl"`
	} `json:"nextAction"`
}

type gwRefund struct {
	RefundID       string `json:"refundId"`
	RefundNumber   string `json:"refundNumber"`
	Status         string `json:"status"`
	FailureCode    string `json:"failureCode"`
	FailureMessage string `json:"failureMessage"`
}

func (g *gateway) inquire(ctx context.Context, env, orderNo string) (gwPayment, error) {
	var p gwPayment
	err := g.call(ctx, env, "/v1/payments/inquiry", map[string]string{"orderNo": orderNo}, &p)
	return p, err
}

func (g *gateway) refundStatus(ctx context.Context, env, refundNumber string) (gwRefund, error) {
	var out struct {
		Refunds []gwRefund `json:"refunds"`
	}
	if err := g.call(ctx, env, "/v1/refunds/inquiry", map[string]string{"refundNumber": refundNumber}, &out); err != nil {
		return gwRefund{}, err
	}
	for _, r := range out.Refunds {
		if r.RefundNumber == refundNumber {
			return r, nil
		}
	}
	return gwRefund{}, &gwError{Status: http.StatusNotFound, Code: "NOT_FOUND"}
}
