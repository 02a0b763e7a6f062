package simulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store"
)

// clashCounter is a store that counts, per kind, the writes refused because
// an id or a unique key was taken: the storm test's evidence that clashes
// happened and were drawn around.
type clashCounter struct {
	store.Store
	mu      sync.Mutex
	clashes map[string]int
}

func (c *clashCounter) count(kind string, err error) error {
	if errors.Is(err, store.ErrExists) {
		c.mu.Lock()
		c.clashes[kind]++
		c.mu.Unlock()
	}
	return err
}

func (c *clashCounter) Create(ctx context.Context, kind, id string, doc []byte, unique ...string) error {
	return c.count(kind, c.Store.Create(ctx, kind, id, doc, unique...))
}

func (c *clashCounter) Claim(ctx context.Context, kind, id string, unique ...string) error {
	return c.count(kind, c.Store.Claim(ctx, kind, id, unique...))
}

func (c *clashCounter) of(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clashes[kind]
}

// stormer is one id kind of the storm: set up what the creations need, then
// create object i and say its id.
type stormer struct {
	name  string
	kind  string // the store kinds whose writes claim the ids, comma-separated
	setup func(s *storm, n int)
	make  func(s *storm, i int) (simtest.Response, string)
	// twin: instead of an echoing generator, a first simulator with the
	// same seed and store makes n objects one by one before the storm.
	twin bool
}

// storm is a simulator whose id generator hands out every id twice
// (ids.NewEcho) on a simulated clock that never moves.
type storm struct {
	*simtest.Harness
	store *clashCounter
	vmTok string
	app   *genstoretest.App
	refs  []string // what setup made for the creations to use
	tag   string   // tells a twin's business keys from the storm's
}

func (s *storm) vm(path string, body any) simtest.Response {
	return s.Do("POST", "/vm/v1"+path, body, "Authorization", "Bearer "+s.vmTok)
}

// TestEveryGeneratedIDIsClaimed storms each kind of id the simulator makes
// up, concurrently, under a simulated clock that stands still and a
// generator that offers every id twice: every second creation draws an id
// that is taken. None may fail — no 5xx, no CodePay system error — every id
// must be distinct, and the store must have refused clashes (they were drawn
// around, not avoided by luck).
func TestEveryGeneratedIDIsClaimed(t *testing.T) {
	const n, workers = 40, 16
	cpKey := demoAppKey(t)
	card := func(no string) map[string]any {
		return map[string]any{"cardNo": no, "expiryMonth": "12", "expiryYear": "2030", "cvc": "123", "captureMethod": "auto"}
	}
	payment := func(orderNo, cardNo string, more map[string]any) map[string]any {
		b := map[string]any{"amount": "19.99", "currency": "USD", "orderNo": orderNo, "paymentMethodType": "card", "description": "storm",
			"deviceInfo": map[string]any{"clientIp": "10.1.1.1", "language": "en-US",
				"browser": map[string]any{"acceptHeader": "text/html", "userAgent": "Mozilla/5.0 (storm)", "javascriptEnable": true,
					"colorDepth": "24", "screenHeight": "800", "screenWidth": "1200", "timeZone": "0"}}, "threeDsMode": "auto", "card": card(cardNo)}
		for k, v := range more {
			b[k] = v
		}
		return b
	}
	session := func(orderNo string) map[string]any {
		return map[string]any{"amount": "42.00", "currency": "HKD", "orderNo": orderNo, "description": "storm", "expiryTime": "60",
			"frontUrl": "https://shop.example/back", "captureMethod": "auto", "threeDsMode": "auto", "linkMode": "session"}
	}
	field := func(r simtest.Response, path string) string { return simtest.FieldString(r.JSON(), path) }
	// The Genstore kinds need shops and a scripted app installed on them.
	gsShop := func(s *storm, shopID string) {
		if r := s.Do("POST", "/_sim/genstore/shops", map[string]any{"shopId": shopID, "shop": "storm-" + shopID, "currency": "USD", "testMode": true}); r.Status != http.StatusCreated {
			s.T.Fatalf("shop %s: %d %s", shopID, r.Status, r.Body)
		}
	}
	gsApp := func(s *storm) {
		app, err := genstoretest.New("storm-app", "storm-app-secret-0001", s.URL)
		if err != nil {
			t.Fatal(err)
		}
		s.T.Cleanup(app.Close)
		app.Now = s.Clock.Now
		s.app = app
		if r := s.Do("POST", "/_sim/genstore/apps", app.Registration()); r.Status != http.StatusCreated {
			s.T.Fatalf("app: %d %s", r.Status, r.Body)
		}
	}
	gsInstalled := func(s *storm) {
		gsApp(s)
		gsShop(s, "9001")
		if r := s.Do("POST", "/_sim/genstore/shops/9001/installations", map[string]any{"clientId": s.app.ClientID}); r.Status != http.StatusCreated {
			s.T.Fatalf("install: %d %s", r.Status, r.Body)
		}
	}
	gsPay := func(s *storm, manual bool) simtest.Response {
		return s.Do("POST", "/_sim/genstore/shops/9001/payments", map[string]any{"clientId": s.app.ClientID, "amount": "12.34", "manualCapture": manual,
			"card": map[string]any{"number": "4000123456000001"}})
	}
	kinds := []stormer{
		{name: "vmgateway tradeNo", kind: "vm.order", make: func(s *storm, i int) (simtest.Response, string) {
			r := s.vm("/payments", payment(fmt.Sprintf("P%07d", i), "4000123456000001", nil))
			return r, field(r, "tradeNo")
		}},
		{name: "vmgateway tradeNo of a cashier attempt", kind: "vm.order",
			setup: func(s *storm, n int) {
				for i := range n {
					r := s.vm("/checkout/sessions", session(fmt.Sprintf("C%07d", i)))
					if r.Status != http.StatusOK {
						s.T.Fatalf("session: %d %s", r.Status, r.Body)
					}
					s.refs = append(s.refs, field(r, "cashierUrl"))
				}
			},
			make: func(s *storm, i int) (simtest.Response, string) {
				client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				res, err := client.PostForm(s.refs[i], url.Values{"method": {"card"}, "cardNo": {"4000123456000001"}, "expiryMonth": {"12"},
					"expiryYear": {"2030"}, "cvc": {"123"}, "holderName": {"A B"}})
				if err != nil {
					s.T.Errorf("cashier: %v", err)
					return simtest.Response{Status: 599}, ""
				}
				res.Body.Close()
				loc := res.Header.Get("Location")
				return simtest.Response{Status: res.StatusCode}, loc[strings.LastIndex(loc, "/")+1:]
			}},
		{name: "vmgateway sessionId", kind: "vm.order", make: func(s *storm, i int) (simtest.Response, string) {
			r := s.vm("/checkout/sessions", session(fmt.Sprintf("S%07d", i)))
			return r, field(r, "sessionId")
		}},
		{name: "vmgateway refundId", kind: "vm.refund",
			setup: func(s *storm, n int) {
				for i := range n {
					r := s.vm("/payments", payment(fmt.Sprintf("R%07d", i), "4000123456000001", nil))
					if r.Status != http.StatusOK {
						s.T.Fatalf("payment: %d %s", r.Status, r.Body)
					}
					s.refs = append(s.refs, field(r, "orderNo"))
				}
			},
			make: func(s *storm, i int) (simtest.Response, string) {
				r := s.vm("/refunds", map[string]any{"orderNo": s.refs[i], "amount": "1.00", "refundNumber": fmt.Sprintf("RN%06d", i), "clientIp": "10.1.1.1", "reason": "storm"})
				return r, field(r, "refundId")
			}},
		{name: "vmgateway access token", kind: "vm.token", make: func(s *storm, i int) (simtest.Response, string) {
			r := s.Do("POST", "/vm/v1/auth/token", map[string]string{"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"})
			return r, field(r, "accessToken")
		}},
		{name: "vmgateway transactionIdentifier", kind: "vm.order", make: func(s *storm, i int) (simtest.Response, string) {
			r := s.vm("/payments", payment(fmt.Sprintf("M%07d", i), "4000123456000001", map[string]any{"billing": map[string]any{"storedcredentials": "store"}}))
			return r, field(r, "transactionIdentifier")
		}},
		{name: "vmgateway subscriptionId", kind: "vm.subscription", make: func(s *storm, i int) (simtest.Response, string) {
			r := s.vm("/webhooks/subscriptions", map[string]any{"apiVersion": "20250703", "signMethod": "sha256", "subscribeUrl": fmt.Sprintf("https://app.example/hook/%d", i)})
			return r, field(r, "subscriptionId")
		}},
		{name: "vmgateway webhook sink", kind: "vm.sink", make: func(s *storm, i int) (simtest.Response, string) {
			r := s.Do("POST", "/_sim/vmgateway/webhook-sinks", map[string]any{"status": 200})
			return r, field(r, "sinkId")
		}},
		// An authentication draws three UUIDs, which an echo of every
		// second draw would never line up with: a twin simulator over the
		// same store and seed makes n first, then the storm replays its ids.
		{name: "3-D Secure ids", kind: "3ds.transaction", twin: true, make: func(s *storm, i int) (simtest.Response, string) {
			r := s.vm("/payments", payment(fmt.Sprintf("D%s%06d", s.tag, i), "4000123456000068", map[string]any{"threeDsMode": "standard"}))
			return r, field(r, "threeDs.threeDsServerTransId")
		}},
		{name: "genstore shopId", kind: "genstore.shop", make: func(s *storm, i int) (simtest.Response, string) {
			r := s.Do("POST", "/_sim/genstore/shops", map[string]any{"shop": fmt.Sprintf("storm-shop-%d", i), "currency": "USD", "testMode": true})
			return r, field(r, "shopId")
		}},
		{name: "genstore installation code and token", kind: "genstore.code,genstore.token",
			setup: func(s *storm, n int) {
				gsApp(s)
				for i := range n {
					gsShop(s, fmt.Sprintf("%d", 8000+i))
				}
			},
			make: func(s *storm, i int) (simtest.Response, string) {
				r := s.Do("POST", fmt.Sprintf("/_sim/genstore/shops/%d/installations", 8000+i), map[string]any{"clientId": s.app.ClientID})
				return r, fmt.Sprintf("installation %d", i)
			}},
		{name: "genstore paymentId", kind: "genstore.payment", setup: func(s *storm, n int) { gsInstalled(s) },
			make: func(s *storm, i int) (simtest.Response, string) {
				r := gsPay(s, false)
				return r, field(r, "paymentId")
			}},
		{name: "genstore captureId", kind: "genstore.payment",
			setup: func(s *storm, n int) {
				gsInstalled(s)
				ok := genstoretest.Result{OK: true}
				s.app.Default("payment", genstoretest.Reply{Callback: &ok})
				for range n {
					r := gsPay(s, true)
					if r.Status != http.StatusCreated || field(r, "statusName") != "auth_success" {
						s.T.Fatalf("payment: %d %s", r.Status, r.Body)
					}
					s.refs = append(s.refs, field(r, "paymentId"))
				}
			},
			make: func(s *storm, i int) (simtest.Response, string) {
				r := s.Do("POST", "/_sim/genstore/shops/9001/payments/"+s.refs[i]+"/captures", map[string]any{"amount": "12.34"})
				return r, field(r, "operation.id")
			}},
		{name: "codepay trans_no", kind: "codepay.txn", make: func(s *storm, i int) (simtest.Response, string) {
			body, _ := json.Marshal(map[string]any{"app_id": "wz9f2a175d0e0ef632", "method": "pay.checkout", "format": "JSON", "charset": "UTF-8",
				"version": "1.0", "merchant_no": "302100041048", "merchant_order_no": fmt.Sprintf("K%07d", i), "price_currency": "USD",
				"order_amount": 10.5, "description": "storm", "expires": 300, "return_url": "https://shop.example/back"})
			r := s.Do("POST", "/codepay/api/entry", resignCodePay(s.T.(*testing.T), cpKey, body, s.Clock.Now()))
			var data map[string]any
			if d, ok := r.JSON()["data"].(string); ok {
				json.Unmarshal([]byte(d), &data)
			}
			u := simtest.FieldString(data, "pay_url") // …/codepay/checkout/<trans_no>
			return r, u[strings.LastIndex(u, "/")+1:]
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			counter := &clashCounter{Store: store.NewMemory(), clashes: map[string]int{}}
			gen := ids.NewEcho
			if k.twin {
				gen = ids.New
				twin := &storm{store: counter, tag: "T", Harness: simtest.New(t, func(o *simulator.Options) { o.Store = counter })}
				twin.vmTok = twin.VMToken("sandbox")
				for i := range n {
					if r, id := k.make(twin, i); r.Status != http.StatusOK || id == "" {
						t.Fatalf("twin creation %d: %d %s", i, r.Status, r.Body)
					}
				}
			}
			s := &storm{store: counter, tag: "S", Harness: simtest.New(t, func(o *simulator.Options) {
				o.Store, o.IDs = counter, gen(1)
			})}
			s.vmTok = s.VMToken("sandbox")
			if k.setup != nil {
				k.setup(s, n)
			}
			kinds := strings.Split(k.kind, ",")
			before := map[string]int{}
			for _, kind := range kinds {
				before[kind] = counter.of(kind)
			}
			got := make([]string, n)
			var wg sync.WaitGroup
			next := make(chan int)
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range next {
						r, id := k.make(s, i)
						code, _ := r.JSON()["code"].(string)
						if r.Status >= 500 || code == codepay.CodeSystemError || r.Status >= 400 || (strings.HasPrefix(k.name, "codepay") && code != "0") {
							t.Errorf("creation %d: %d %.300s", i, r.Status, r.Body)
						}
						got[i] = id
					}
				}()
			}
			for i := range n {
				next <- i
			}
			close(next)
			wg.Wait()
			seen := map[string]int{}
			for i, id := range got {
				if id == "" && !t.Failed() {
					t.Fatalf("creation %d: no id", i)
				}
				if j, dup := seen[id]; dup {
					t.Fatalf("creations %d and %d got the same id %s", j, i, id)
				}
				seen[id] = i
			}
			for _, kind := range kinds {
				if c := counter.of(kind) - before[kind]; c == 0 {
					t.Errorf("no clash in %s: the storm did not test the claim", kind)
				} else {
					t.Logf("%d creations, %d clashes drawn around in %s", n, c, kind)
				}
			}
		})
	}
}
