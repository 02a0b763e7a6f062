package jsonw_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/pspsim/pspsim/simulator/jsonw"
)

var samples = []string{"", "PI00202510281513381", "19.99", "2026-12-06T05:02:00Z", `a"b`, `a\b`, "<script>", "a&b",
	"tab\there", "\x00", "\x7f", "é", "\u2028", "\xff\xfe", "日本", "line\nbreak"}

func TestAppendStringIsMarshal(t *testing.T) {
	for _, s := range samples {
		want, _ := json.Marshal(s)
		if got := jsonw.AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	}
}

func FuzzAppendStringIsMarshal(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := jsonw.AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = jsonw.AppendString(buf[:0], "PI00202510281513381")
	}
}

// TestSetContentTypeIsSet holds SetContentType to Header.Set on headers in
// the states an answer's may be in, and checks that what a later Add or Set
// does to one header leaves the shared value, and so every other, alone.
func TestSetContentTypeIsSet(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before http.Header
	}{
		{"empty", http.Header{}},
		{"other headers", http.Header{"X-Pspsim-Warning": {"199 - \"x\""}}},
		{"a content type already", http.Header{"Content-Type": {"text/plain"}}},
		{"two content types", http.Header{"Content-Type": {"text/plain", "text/html"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, got := tc.before.Clone(), tc.before.Clone()
			want.Set("Content-Type", "application/json")
			jsonw.SetContentType(got)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("SetContentType: %v, want %v", got, want)
			}
			got.Add("Content-Type", "text/plain")
			other := http.Header{}
			jsonw.SetContentType(other)
			if v := other.Values("Content-Type"); len(v) != 1 || v[0] != "application/json" {
				t.Fatalf("after an Add to another header: %q", v)
			}
			if v := got.Values("Content-Type"); len(v) != 2 || v[0] != "application/json" || v[1] != "text/plain" {
				t.Fatalf("Add after SetContentType: %q", v)
			}
		})
	}
}

func BenchmarkSetContentType(b *testing.B) {
	for _, bc := range []struct {
		name string
		set  func(http.Header)
	}{
		{"Header.Set", func(h http.Header) { h.Set("Content-Type", "application/json") }},
		{"SetContentType", jsonw.SetContentType},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := http.Header{}
			b.ReportAllocs()
			for b.Loop() {
				bc.set(h)
			}
		})
	}
}
