package canary

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
)

const canaryNo = "4917610000003418" // Luhn-valid, no test card

func newRegistry(t *testing.T) (*Registry, *journal.Journal) {
	t.Helper()
	c := clock.NewSim(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	j := journal.New(c, 0)
	r := New(c, j)
	if _, err := r.Add([]string{canaryNo}, "test"); err != nil {
		t.Fatal(err)
	}
	return r, j
}

func TestAddRefusesWhatIsNoCardNumber(t *testing.T) {
	r, _ := newRegistry(t)
	for _, n := range []string{"4917610000003410", "12345", "49176100000034184917"} {
		if _, err := r.Add([]string{n}, ""); err == nil {
			t.Errorf("%s was registered", n)
		} else if strings.Contains(err.Error(), n) && len(n) >= 12 {
			t.Errorf("the refusal quotes the number: %v", err)
		}
	}
	list := r.List()
	if len(list) != 1 || list[0].Masked != "491761******3418" || list[0].Label != "test" {
		t.Errorf("List = %+v", list)
	}
}

func TestCheckFindsTheNumberInRawBytes(t *testing.T) {
	for _, c := range []struct {
		name string
		data string
		hit  bool
	}{
		{"plain", `{"error":"card 4917610000003418 declined"}`, true},
		{"grouped by spaces", `card 4917 6100 0000 3418`, true},
		{"grouped by dashes", `4917-6100-0000-3418`, true},
		{"masked", `491761******3418`, false},
		{"another number", `4000123456000019`, false},
		{"nothing", ``, false},
	} {
		r, j := newRegistry(t)
		got := r.Check("an answer", "body", map[string]string{"paymentId": "PI1"}, []byte(c.data))
		if (len(got) > 0) != c.hit {
			t.Errorf("%s: sightings %+v, want hit %t", c.name, got, c.hit)
			continue
		}
		evs := j.Query(journal.Filter{Kind: Kind})
		if (len(evs) > 0) != c.hit {
			t.Errorf("%s: %d privacy.leak events", c.name, len(evs))
		}
		for _, e := range evs {
			if e.IDs["canary"] != "491761******3418" || e.IDs["paymentId"] != "PI1" || e.Data["where"] != "an answer" {
				t.Errorf("%s: event %+v", c.name, e)
			}
			if strings.Contains(e.Message, canaryNo) {
				t.Errorf("%s: the journal shows the number: %s", c.name, e.Message)
			}
		}
		if c.hit && r.List()[0].Sightings != 1 {
			t.Errorf("%s: sightings not counted: %+v", c.name, r.List())
		}
	}
}

func TestCheckJSONLeavesOutWhereTheCardBelongs(t *testing.T) {
	allowed := map[string]bool{"cardNo": true}
	for _, c := range []struct {
		name, body, part string
	}{
		{"in card.cardNo only", `{"card":{"cardNo":"4917610000003418"},"amount":"1.00"}`, ""},
		{"in the description too", `{"card":{"cardNo":"4917610000003418"},"description":"for 4917610000003418"}`, "body field description"},
		{"in an array", `{"items":[{"name":"4917 6100 0000 3418"}]}`, "body field items[0].name"},
		{"as a key", `{"4917610000003418":true}`, "body field 4917610000003418 (key)"},
		{"not JSON", `cardNo=4917610000003418`, "body"},
	} {
		r, _ := newRegistry(t)
		got := r.CheckJSON("a request to vmgateway", nil, []byte(c.body), allowed)
		switch {
		case c.part == "" && len(got) > 0:
			t.Errorf("%s: sightings %+v", c.name, got)
		case c.part != "" && (len(got) != 1 || got[0].Part != c.part):
			t.Errorf("%s: sightings %+v, want part %q", c.name, got, c.part)
		}
	}
}

func TestRequestsMiddlewareSeesPathHeadersAndBody(t *testing.T) {
	r, j := newRegistry(t)
	var seen string
	h := r.Requests("genstore", nil, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b := make([]byte, 100)
		n, _ := req.Body.Read(b)
		seen = string(b[:n])
	}))
	req := httptest.NewRequest("PUT", "/genstore/x?note=4917610000003418", strings.NewReader(`{"pay":{"reason":"4917610000003418"}}`))
	req.Header.Set("X-Debug", "4917610000003418")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if seen != `{"pay":{"reason":"4917610000003418"}}` {
		t.Errorf("the handler saw the body %q", seen)
	}
	parts := map[string]bool{}
	for _, e := range j.Query(journal.Filter{Kind: Kind}) {
		parts[e.Data["part"].(string)] = true
	}
	for _, p := range []string{"path and query", "header X-Debug", "body"} {
		if !parts[p] {
			t.Errorf("no sighting in %s: %v", p, parts)
		}
	}
	if n := r.Clear(); n != 1 || !r.Empty() {
		t.Errorf("Clear = %d, empty %t", n, r.Empty())
	}
}
