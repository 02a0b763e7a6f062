package openapi_test

import (
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/pspsim/pspsim/simulator/openapi"
)

// TestTagsActAsAMap: Tag, TagValue and Tags answer as the map they were
// kept in before: a key set twice keeps its last value, an unknown key is "".
func TestTagsActAsAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := []string{"app", "merchant", "environment", "shop", "paymentId", "revokedShop", "amount"}
	vals := []string{"", "a", "b", "086666075137001", "sandbox"}
	for range 2000 {
		var req openapi.Request
		model := map[string]string{}
		for range rng.IntN(12) {
			k, v := keys[rng.IntN(len(keys))], vals[rng.IntN(len(vals))]
			req.Tag(k, v)
			model[k] = v
			for _, q := range keys {
				if got := req.TagValue(q); got != model[q] {
					t.Fatalf("TagValue(%q) = %q, the map says %q", q, got, model[q])
				}
			}
		}
		if got := req.Tags(); !maps.Equal(got, model) || got == nil {
			t.Fatalf("Tags() = %v, want %v", got, model)
		}
		// Tags is a copy: changing it changes nothing.
		req.Tags()["app"] = "changed"
		if req.TagValue("app") != model["app"] {
			t.Fatal("Tags() shares its map with the request")
		}
	}
}

// TestRequestWithoutABodyReadsAsEmpty: a GET (http.NoBody) reaches its
// handler with an empty, non-nil Request.Body and a body that reads as
// nothing, whichever security alternative admits it.
func TestRequestWithoutABodyReadsAsEmpty(t *testing.T) {
	var vs []violation
	m := newMount(t, &vs)
	var ran int
	m.HandleFunc("getOrder", func(w http.ResponseWriter, r *http.Request) {
		ran++
		req := openapi.FromContext(r.Context())
		b, err := io.ReadAll(r.Body)
		if req.Body == nil || len(req.Body) != 0 || len(b) != 0 || err != nil {
			t.Errorf("Body %q (nil: %v), r.Body read %q, %v", req.Body, req.Body == nil, b, err)
		}
		if r.Body.Close() != nil {
			t.Error("closing the body failed")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"orderNo":"A0001","status":"CREATED"}`))
	})
	for _, c := range []struct {
		token  string
		status int
	}{{"r", 200}, {"w", 200}, {"", 401}, {"x", 401}} {
		if status, out, _ := do(t, m, "GET", "/shop/orders/A0001", c.token, ""); status != c.status {
			t.Errorf("token %q: %d %v, want %d", c.token, status, out, c.status)
		}
	}
	if ran != 2 {
		t.Fatalf("the handler ran %d times, want 2", ran)
	}
}

// TestHoldGivesBackWhatWasHeld: Hold keeps one value and returns the one
// before it, so that a wrapper served twice (or nested) puts back what it
// found.
func TestHoldGivesBackWhatWasHeld(t *testing.T) {
	r := &openapi.Request{}
	if r.Held() != nil {
		t.Fatal("a new request holds something")
	}
	if prev := r.Hold("outer"); prev != nil {
		t.Fatalf("prev %v", prev)
	}
	prev := r.Hold("inner")
	if prev != "outer" || r.Held() != "inner" {
		t.Fatalf("prev %v, held %v", prev, r.Held())
	}
	r.Hold(prev)
	if r.Held() != "outer" {
		t.Fatalf("held %v after putting back", r.Held())
	}
}
