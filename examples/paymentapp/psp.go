package paymentapp

import "context"

// cardGateway is what the app needs from its PSP, in the card gateway's vocabulary
// (gateway.go): the rest of the app reads gwPayment and gwRefund whichever PSP it charges
// cards with. gateway speaks the Visa/Mastercard gateway's API itself; codepayGateway
// (codepay.go) translates CodePay's orders and transactions into the same views.
type cardGateway interface {
	createPayment(ctx context.Context, env Env, req gwCardPaymentRequest) (gwPayment, error)
	inquirePayment(ctx context.Context, env Env, orderNo, tradeNo string) (gwPayment, error)
	capturePayment(ctx context.Context, env Env, orderNo, tradeNo, amount string) (gwPayment, error)
	cancelPayment(ctx context.Context, env Env, orderNo, tradeNo, reason string) (gwPayment, error)
	createRefund(ctx context.Context, env Env, req gwRefundRequest) (gwRefund, error)
	inquireRefund(ctx context.Context, env Env, refundNumber string) (gwRefund, error)
	inquireRefunds(ctx context.Context, env Env, orderNo string) (gwRefundInquiry, error)

	// configured reports whether the app has credentials for env.
	configured(env Env) bool
	// check proves env's credentials work (at installation, before the app reports ready).
	check(ctx context.Context, env Env) error
	// webhooks reports whether the PSP takes webhook subscriptions (subscribe); a PSP
	// without them notifies each order at the URL the order names.
	webhooks() bool
	subscribe(ctx context.Context, env Env, url string) (string, error)
}

// PSPs the app can charge cards with (Config.PSP).
const (
	PSPCardGateway = "vmgateway"
	PSPCodePay     = "codepay"
)

func (g *gateway) configured(env Env) bool { return g.creds[env].set() }

func (g *gateway) check(ctx context.Context, env Env) error {
	_, err := g.token(ctx, env)
	return err
}

func (g *gateway) webhooks() bool { return true }
