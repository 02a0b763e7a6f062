package codepay

import "time"

// Transaction types (TransType) of seed 003.
const (
	TypeSale              = 1
	TypeVoid              = 2
	TypeRefund            = 3
	TypePreAuth           = 4
	TypePreAuthCancel     = 5
	TypePreAuthCompletion = 6
	TypeCompletionCancel  = 7
	TypeCompletionRefund  = 8
	TypeCashback          = 11
	TypeCashWithdrawal    = 12
)

var typeNames = map[int]string{
	TypeSale: "sale", TypeVoid: "void", TypeRefund: "refund", TypePreAuth: "pre-authorization",
	TypePreAuthCancel: "pre-authorization cancel", TypePreAuthCompletion: "pre-authorization completion",
	TypeCompletionCancel: "completion cancel", TypeCompletionRefund: "completion refund",
	TypeCashback: "sale with cashback", TypeCashWithdrawal: "cash withdrawal",
}

// Channels a transaction came through.
const (
	ChannelTerminal = "terminal"          // wisehub.cloud.pay.order, pushed to a POS terminal
	ChannelHosted   = "hosted_checkout"   // pay.checkout
	ChannelMerchant = "merchant_checkout" // pay.merchant.checkout
	ChannelGateway  = "gateway"           // the gateway API itself: refunds, captures, cancellations
)

// Instruments a transaction was paid with.
const (
	InstrumentCardPresent = "card_present" // an "offline bank card transaction": read by a terminal, settled by batch
	InstrumentCardOnline  = "card_online"  // an e-commerce card payment
	InstrumentWallet      = "wallet"       // a QR wallet payment
)

// TerminalOptions are the wisehub.cloud.pay.order settings the terminal
// honours.
type TerminalOptions struct {
	ConfirmOnTerminal     bool   `json:"confirmOnTerminal,omitempty"`
	OnScreenTip           bool   `json:"onScreenTip,omitempty"`
	OnScreenSignature     bool   `json:"onScreenSignature,omitempty"`
	RequiredAuthorization bool   `json:"requiredTerminalAuthentication,omitempty"`
	ReceiptPrintMode      int    `json:"receiptPrintMode,omitempty"`
	QueueMode             string `json:"queueMode,omitempty"`
	RejectWhenOffline     bool   `json:"rejectWhenOffline,omitempty"`
	CardType              int    `json:"cardType,omitempty"`
}

// Progress is where a pushed order stands on the terminal's screens.
type Progress struct {
	Confirmed bool   `json:"confirmed,omitempty"`
	Approved  bool   `json:"approved,omitempty"`
	TipDone   bool   `json:"tipDone,omitempty"`
	Signed    bool   `json:"signed,omitempty"`
	Receipts  string `json:"receipts,omitempty"`
}

// ThreeDSInfo is what 3-D Secure said about an online card payment.
type ThreeDSInfo struct {
	Outcome     string `json:"outcome,omitempty"`
	TransStatus string `json:"transStatus,omitempty"`
	ECI         string `json:"eci,omitempty"`
	DSTransID   string `json:"dsTransId,omitempty"`
	// ACSTransID names a challenge or decoupled authentication at the ACS
	// (POST /_sim/threeds/challenges/{acsTransId}/complete ends it).
	ACSTransID string `json:"acsTransId,omitempty"`
	HasCAVV    bool   `json:"hasCavv,omitempty"`
	ReasonCode string `json:"reasonCode,omitempty"`
	Challenge  string `json:"challengeUrl,omitempty"`
}

// Txn is one CodePay transaction: an order pushed to a terminal, a checkout
// payment, a refund, a capture, a void. Amounts are int64 minor units of
// Currency. It never holds a full card number or a CVV.
type Txn struct {
	TransNo         string `json:"transNo"`
	MessageID       string `json:"messageId,omitempty"`
	Environment     string `json:"environment"`
	AppID           string `json:"appId"`
	MerchantNo      string `json:"merchantNo"`
	StoreNo         string `json:"storeNo,omitempty"`
	TerminalSN      string `json:"terminalSn,omitempty"`
	MerchantOrderNo string `json:"merchantOrderNo"`
	TransType       int    `json:"transType"`
	Status          Status `json:"status"`
	Channel         string `json:"channel"`
	Instrument      string `json:"instrument,omitempty"`

	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`             // order_amount
	Tip      int64  `json:"tip,omitempty"`      // tip_amount
	Cashback int64  `json:"cashback,omitempty"` // cashback_amount
	// Authorized is a pre-authorization's total: the original amount plus
	// every incremental authorization.
	Authorized int64 `json:"authorized,omitempty"`
	// Captured is what a pre-authorization's completion took (one
	// completion per authorization); CaptureTransNo names it.
	Captured       int64  `json:"captured,omitempty"`
	CaptureTransNo string `json:"captureTransNo,omitempty"`
	// Refunded is the sum of this transaction's successful refunds.
	Refunded    int64    `json:"refunded,omitempty"`
	RefundCount int      `json:"refundCount,omitempty"`
	Refunds     []string `json:"refunds,omitempty"`

	OrigTransNo         string `json:"origTransNo,omitempty"`
	OrigMerchantOrderNo string `json:"origMerchantOrderNo,omitempty"`
	// ReversedBy names what moved a successful transaction to cancelled.
	ReversedBy string `json:"reversedBy,omitempty"`

	Description string          `json:"description,omitempty"`
	Attach      string          `json:"attach,omitempty"`
	NotifyURL   string          `json:"notifyUrl,omitempty"`
	ReturnURL   string          `json:"returnUrl,omitempty"`
	OrderDetail []byte          `json:"orderDetail,omitempty"`
	PayScenario string          `json:"payScenario,omitempty"`
	PayMethodID string          `json:"payMethodId,omitempty"`
	Options     TerminalOptions `json:"options,omitempty"`
	Progress    Progress        `json:"progress,omitempty"`

	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt time.Time  `json:"expiresAt"`
	EndAt     *time.Time `json:"endAt,omitempty"`

	// The outcome.
	CardMasked       string       `json:"cardMasked,omitempty"`
	CardBrand        string       `json:"cardBrand,omitempty"`
	CardProfile      string       `json:"cardProfile,omitempty"` // the TESTCARDS row (NN), "default" otherwise
	PayUserAccountID string       `json:"payUserAccountId,omitempty"`
	PayChannelNo     string       `json:"payChannelTransNo,omitempty"`
	PayPlatformNo    string       `json:"payPlatformTransNo,omitempty"`
	AuthNo           string       `json:"authNo,omitempty"`
	RefNo            string       `json:"refNo,omitempty"`
	RespCode         string       `json:"respCode,omitempty"`
	RespMsg          string       `json:"respMsg,omitempty"`
	ThreeDS          *ThreeDSInfo `json:"threeDS,omitempty"`
	BatchNo          string       `json:"batchNo,omitempty"`
	// NotifyDelay holds back the result notification (TESTCARDS row 12).
	NotifyDelay time.Duration `json:"notifyDelay,omitempty"`
	// HostTimeout marks a payment the host accepted and never answered
	// (TESTCARDS row 26): it stays processing until it expires.
	HostTimeout bool `json:"hostTimeout,omitempty"`
}

// TransAmount is what the card or wallet is charged: order amount plus tip
// plus cashback.
func (t *Txn) TransAmount() int64 { return t.Amount + t.Tip + t.Cashback }

// Paid is the money a successful transaction holds for the merchant, which
// refunds give back: the order amount and tip (cashback is cash handed out,
// not a sale); a pre-authorization holds nothing until captured.
func (t *Txn) Paid() int64 {
	if t.Status != StatusSuccess {
		return 0
	}
	switch t.TransType {
	case TypeSale, TypeCashback, TypePreAuthCompletion:
		return t.Amount + t.Tip
	case TypeCashWithdrawal:
		return t.Amount
	}
	return 0
}

// Refundable is what refunds may still give back.
func (t *Txn) Refundable() int64 { return t.Paid() - t.Refunded }

// Offline reports whether this is an offline bank card transaction (read by
// a terminal; settled by batch; cancelled only by a void).
func (t *Txn) Offline() bool { return t.Instrument == InstrumentCardPresent }

// Terminal is a virtual POS terminal running CodePay Register.
type Terminal struct {
	SN     string `json:"sn"`
	Online bool   `json:"online"`
	// Queue holds the trans_no of pushed orders awaiting the terminal, the
	// one on screen first.
	Queue     []string          `json:"queue"`
	Autopilot *Autopilot        `json:"autopilot,omitempty"`
	BatchSeq  int               `json:"batchSeq"`
	OpenBatch map[string]string `json:"openBatch"` // environment/merchant → open batch number
	Since     time.Time         `json:"since"`     // when it last went online or offline
}

// Autopilot completes whatever the terminal shows, after a delay on the
// clock, as a cashier and buyer would.
type Autopilot struct {
	Card     string        `json:"card,omitempty"` // a card number to present (stored; shown masked)
	Wallet   string        `json:"wallet,omitempty"`
	Delay    time.Duration `json:"delay"`
	Tip      string        `json:"tip,omitempty"` // decimal text, in the order's currency
	Sign     bool          `json:"sign"`
	Approve  bool          `json:"approve"`
	CardMask string        `json:"cardMask,omitempty"`
}

// Batch is one terminal's settlement batch for one merchant and environment.
type Batch struct {
	BatchNo     string     `json:"batchNo"`
	TerminalSN  string     `json:"terminalSn"`
	MerchantNo  string     `json:"merchantNo"`
	StoreNo     string     `json:"storeNo,omitempty"`
	Environment string     `json:"environment"`
	TransNos    []string   `json:"transNos"`
	OpenedAt    time.Time  `json:"openedAt"`
	ClosedAt    *time.Time `json:"closedAt,omitempty"`
}
