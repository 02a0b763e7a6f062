package threeds

import "testing"

// TestPlainReturnURLIsParsedSo holds plainReturnURL to what url.Parse
// accepts (it may leave to url.Parse what it does not recognise, never
// accept more), and checks that it recognises the return URLs the PSPs
// send, so that they skip url.Parse.
func TestPlainReturnURLIsParsedSo(t *testing.T) {
	for _, c := range []struct {
		url   string
		plain bool // plainReturnURL recognises it
		valid bool // the rule's answer
	}{
		{"http://127.0.0.1:8080/vm/return/2024101015175500000001", true, true},
		{"https://sandbox.example.com/codepay/return/T1", true, true},
		{"http://localhost", true, true},
		{"http://localhost:", true, true},
		{"https://a-b.c/", true, true},
		{"/vm/return/1", true, true},
		{"/", true, true},
		{"http://", false, false},
		{"http:///x", false, false},
		{"http://:80/x", false, true},
		{"//host/x", false, false},
		{"http://host:8o/x", false, false},
		{"HTTP://host/x", false, true},
		{"ftp://host/x", false, false},
		{"http://host/a b", false, true},
		{"http://host/a%20b?x=1#f", false, true},
		{"http://us er@host/", false, false},
		{"http://user@host/", false, true},
		{"http://[::1]:8080/x", false, true},
		{"relative/path", false, false},
		{"/a%zz", false, false},
		{"", false, false},
		{"http://host\x7f/", false, false},
	} {
		if got := plainReturnURL(c.url); got != c.plain {
			t.Errorf("plainReturnURL(%q) = %v, want %v", c.url, got, c.plain)
		}
		if got := returnURLValid(c.url); got != c.valid || parsedReturnURL(c.url) != c.valid {
			t.Errorf("returnURLValid(%q) = %v (url.Parse: %v), want %v", c.url, got, parsedReturnURL(c.url), c.valid)
		}
	}
}

// FuzzPlainReturnURL: whatever plainReturnURL accepts, url.Parse accepts
// as the rule wants it.
func FuzzPlainReturnURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8080/vm/return/1", "https://h/x", "/p", "//h", "http://h:1", "http://a..b/~_-."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if plainReturnURL(s) && !parsedReturnURL(s) {
			t.Fatalf("plainReturnURL accepts %q, url.Parse does not", s)
		}
	})
}
