package simtest

import (
	"io"
	"reflect"
	"testing"
)

func TestFieldAndSetField(t *testing.T) {
	m := map[string]any{"a": map[string]any{"b": 1}}
	SetField("a.c.d", "x")(m)
	SetField("a.b", nil)(m)
	want := map[string]any{"a": map[string]any{"c": map[string]any{"d": "x"}}}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %v", m)
	}
	for path, want := range map[string]any{"a.c.d": "x", "a.b": nil, "a.c.d.e": nil, "z": nil} {
		if got := Field(m, path); got != want {
			t.Errorf("Field(%q) = %v, want %v", path, got, want)
		}
	}
	if FieldString(m, "a.b") != "" || FieldString(m, "a.c.d") != "x" {
		t.Error("FieldString")
	}
}

func TestJSONRequest(t *testing.T) {
	r := JSONRequest("POST", "/x", `{"a":1}`, "Authorization", "Bearer t")
	b, _ := io.ReadAll(r.Body)
	if string(b) != `{"a":1}` || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Authorization") != "Bearer t" {
		t.Fatalf("%s %v", b, r.Header)
	}
	if r := JSONRequest("GET", "/x", ""); r.Header.Get("Content-Type") != "" {
		t.Fatal("a bodyless request has no content type")
	}
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	n := 0
	Eventually(t, "three polls", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("polled %d times", n)
	}
}
