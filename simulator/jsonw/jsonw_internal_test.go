package jsonw

import "testing"

// TestPlainBytes holds plainBytes to its definition.
func TestPlainBytes(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
		if got := plainBytes[c] == 1; got != want || plainBytes[c] > 1 {
			t.Errorf("plainBytes[%#x] = %d, want %v", c, plainBytes[c], want)
		}
	}
}
