package openapi

import (
	"bytes"
	"context"
	"net/http"
	"testing"
)

// TestBodyParsesAreRecycled: the spec's pool of parsed bodies (docPool,
// which replaced a package-level sync.Pool) is used: a check whose parse is
// put back allocates less than one whose parse is not.
func TestBodyParsesAreRecycled(t *testing.T) {
	if raceOn {
		t.Skip("the race detector drops pooled values on purpose")
	}
	ds, body := cardPaymentExample(t)
	r, _ := http.NewRequest("POST", "/vm/v1/payments", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	route, params, err := ds.router.FindRoute(r)
	if err != nil {
		t.Fatal(err)
	}
	rc := ds.checks[route.Operation]
	run := func(recycle bool) {
		doc, e := rc.check(context.Background(), checkInput{r: r, route: route, params: params, body: body, auth: allow})
		if e != nil || doc == nil {
			t.Fatalf("check: %v, doc %v", e, doc)
		}
		if recycle {
			rc.docs.put(doc)
		}
	}
	pooled := testing.AllocsPerRun(50, func() { run(true) })
	fresh := testing.AllocsPerRun(50, func() { run(false) })
	if pooled >= fresh {
		t.Errorf("a check allocates %v times with the pool, %v without: the parse is not recycled", pooled, fresh)
	}
	t.Logf("allocations per check: %v pooled, %v without the pool", pooled, fresh)
}
