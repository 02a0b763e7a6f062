package conformance

import (
	"context"
	"encoding/json"
	"testing"
)

// VectorCase is a vector as the suite delivers it, for the tests.
type VectorCase struct {
	Name, Expect, Card string
	Data               json.RawMessage
	Verbatim           bool
}

// VectorsFor returns the vectors made for an app's key, in the file's order.
func VectorsFor(t testing.TB, key string) []VectorCase {
	t.Helper()
	set, err := loadVectors(key)
	if err != nil {
		t.Fatal(err)
	}
	var out []VectorCase
	for _, n := range set.names {
		v := set.byName[n]
		out = append(out, VectorCase{Name: v.Name, Expect: v.Expect, Card: v.Card, Data: v.Data, Verbatim: v.Verbatim})
	}
	return out
}

// CheckAnswer exposes the genstore-app.yaml check of an app's answer.
func CheckAnswer(t testing.TB, path, method string, status int, body string) string {
	t.Helper()
	return (&Harness{}).checkAnswer(context.Background(), path, method, status, []byte(body))
}

// ReadyCheck exposes how the runner knows a started app is up.
func ReadyCheck(app AppConfig) (func() bool, string) { return readyCheck(app) }
