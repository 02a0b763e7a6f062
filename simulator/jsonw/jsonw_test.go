package jsonw_test

import (
	"encoding/json"
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
