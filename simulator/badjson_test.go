package simulator_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/simtest"
)

// TestBadJSONIsRefusedInEachDialect sends bodies encoding/json would accept
// and silently alter (invalid UTF-8, a lone surrogate) or refuse without a
// word (nesting 100 000 levels deep) to every system, and checks each answers
// in its own dialect, naming the field and saying what is wrong.
func TestBadJSONIsRefusedInEachDialect(t *testing.T) {
	h := simtest.New(t)
	vmToken := h.VMToken("sandbox")
	deep := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	type answer struct {
		status            int
		field, code, text string
	}
	// read extracts what each dialect says: its status, the field it names
	// (when it names one separately) and its message.
	read := map[string]func(simtest.Response) answer{
		"genstore": func(r simtest.Response) answer {
			m := r.JSON()
			s, _ := m["errors"].(string)
			return answer{status: r.Status, text: s}
		},
		"codepay": func(r simtest.Response) answer {
			m := r.JSON()
			code, _ := m["code"].(string)
			msg, _ := m["msg"].(string)
			if _, signed := m["sign"].(string); !signed {
				t.Errorf("codepay answer is not signed: %s", r.Body)
			}
			return answer{status: r.Status, code: code, text: msg}
		},
		"vmgateway": func(r simtest.Response) answer {
			m := r.JSON()
			field, _ := m["field"].(string)
			code, _ := m["code"].(string)
			msg, _ := m["message"].(string)
			if _, ok := m["traceId"].(string); !ok {
				t.Errorf("gateway answer has no traceId: %s", r.Body)
			}
			return answer{status: r.Status, field: field, code: code, text: msg}
		},
		"admin": func(r simtest.Response) answer {
			e, _ := r.JSON()["error"].(map[string]any)
			field, _ := e["field"].(string)
			code, _ := e["code"].(string)
			msg, _ := e["message"].(string)
			return answer{status: r.Status, field: field, code: code, text: msg}
		},
	}
	cases := []struct {
		name, system, method, path, body string
		headers                          []string
		want                             answer
	}{
		{"genstore: invalid UTF-8", "genstore", "PUT", "/genstore/api/202412/app/payment/PI00202510281513381",
			"{\"pay\":{\"result\":\"true\",\"paymentId\":\"PI00202510281513381\",\"channelPaymentId\":\"20\xff25\"}}",
			[]string{"X-Genstore-Access-Token", simtest.GenstoreToken},
			answer{status: 422, text: "pay.channelPaymentId: is not valid UTF-8 (byte 0xff at offset"}},
		{"genstore: 100k deep", "genstore", "PUT", "/genstore/api/202412/app/payment/PI00202510281513381", deep,
			[]string{"X-Genstore-Access-Token", simtest.GenstoreToken},
			answer{status: 422, text: "malformed body: the body nests objects and arrays more than 10000 levels deep"}},
		{"codepay: invalid UTF-8", "codepay", "POST", "/codepay/api/entry",
			"{\"app_id\":\"wz9f2a175d0e0ef632\",\"method\":\"order.query\",\"format\":\"JSON\",\"charset\":\"UTF-8\",\"sign_type\":\"RSA2\",\"version\":\"1.0\",\"timestamp\":\"1\",\"merchant_no\":\"302100041048\",\"merchant_order_no\":\"A\xc3\",\"sign\":\"x\"}", nil,
			answer{status: 200, code: "40002", text: "merchant_order_no: is not valid UTF-8"}},
		{"codepay: 100k deep", "codepay", "POST", "/codepay/api/entry", deep, nil,
			answer{status: 200, code: "40002", text: "malformed body: the body nests objects and arrays more than 10000 levels deep"}},
		{"vmgateway: lone surrogate", "vmgateway", "POST", "/vm/v1/payments/inquiry", `{"orderNo":"A\ud800"}`,
			[]string{"Authorization", "Bearer " + vmToken},
			answer{status: 400, field: "orderNo", code: "PARAMETER_INVALID", text: `orderNo: is not valid Unicode (a lone UTF-16 surrogate \ud800`}},
		{"vmgateway: 100k deep", "vmgateway", "POST", "/vm/v1/payments/inquiry", deep,
			[]string{"Authorization", "Bearer " + vmToken},
			answer{status: 400, code: "PARAMETER_INVALID", text: "malformed body: the body nests objects and arrays more than 10000 levels deep"}},
		{"admin: invalid UTF-8", "admin", "POST", "/_sim/genstore/shops", "{\"shopId\":\"7001\",\"shop\":\"my-\xe2\x82shop\"}", nil,
			answer{status: 400, field: "shop", code: "malformed", text: "shop: is not valid UTF-8"}},
		{"admin: 100k deep", "admin", "POST", "/_sim/genstore/shops", deep, nil,
			answer{status: 400, code: "malformed", text: "malformed body: the body nests objects and arrays more than 10000 levels deep"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := read[c.system](h.Do(c.method, c.path, c.body, c.headers...))
			if got.status != c.want.status || got.field != c.want.field || got.code != c.want.code || !strings.HasPrefix(got.text, c.want.text) {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
	// Nothing was stored or journaled with a replacement character.
	if r := h.Do(http.MethodGet, "/_sim/events?limit=10000", nil); strings.Contains(string(r.Body), "\ufffd") || strings.Contains(string(r.Body), `\ufffd`) {
		t.Fatalf("the journal holds a replacement character: %s", r.Body)
	}
}
