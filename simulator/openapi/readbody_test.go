package openapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/iotest"
)

// TestReadBodyIsReadAll: readBody, which reads into a buffer of the
// announced Content-Length, answers as reading with io.ReadAll did — the
// same bytes, the same refusal — whatever the length announced (right,
// short, long, unknown, beyond the limit) and however the body reads (in
// one go, a byte at a time, failing midway).
func TestReadBodyIsReadAll(t *testing.T) {
	const max = 1000
	reference := func(w http.ResponseWriter, body io.Reader) ([]byte, error) {
		b, err := io.ReadAll(http.MaxBytesReader(w, io.NopCloser(body), max))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, errors.New("too large")
			}
			return nil, errors.New("malformed")
		}
		return b, nil
	}
	kind := func(err error) error {
		if err == nil {
			return nil
		}
		if bytes.Contains([]byte(err.Error()), []byte("larger")) {
			return errors.New("too large")
		}
		return errors.New("malformed")
	}
	readers := map[string]func([]byte) io.Reader{
		"whole":    func(b []byte) io.Reader { return bytes.NewReader(b) },
		"bytewise": func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"halfway": func(b []byte) io.Reader {
			return io.MultiReader(bytes.NewReader(b[:len(b)/2]), iotest.ErrReader(errors.New("connection reset")))
		},
		"dataerr": func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
	}
	n := 0
	for _, size := range []int{0, 1, 21, 511, 512, 513, 999, 1000, 1001, 2500} {
		body := bytes.Repeat([]byte("x"), size)
		for _, announced := range []int64{int64(size), int64(size) - 1, int64(size) + 7, -1, 0, max + 1, 2 * max} {
			for name, rd := range readers {
				want, wantErr := reference(httptest.NewRecorder(), rd(body))
				r := httptest.NewRequest("POST", "/", nil)
				r.Body = io.NopCloser(rd(body))
				r.ContentLength = announced
				got, err := readBody(httptest.NewRecorder(), r, max)
				n++
				if (kind(err) == nil) != (wantErr == nil) || (err != nil && kind(err).Error() != wantErr.Error()) {
					t.Errorf("%d bytes announced as %d, %s: error %v, io.ReadAll's %v", size, announced, name, err, wantErr)
					continue
				}
				if err == nil && (!bytes.Equal(got, want) || got == nil) {
					t.Errorf("%d bytes announced as %d, %s: %d bytes read, io.ReadAll read %d", size, announced, name, len(got), len(want))
				}
			}
		}
	}
	t.Logf("%d bodies read alike", n)
}

// TestMemBodyReadsAsNopCloser: the body the mount hands on reads as
// io.NopCloser(bytes.NewReader(b)) did, whole, in pieces and through
// io.WriterTo, and closes without error.
func TestMemBodyReadsAsNopCloser(t *testing.T) {
	for _, b := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte(`{"a":1}`), 300)} {
		got, want := newBody(b), io.NopCloser(bytes.NewReader(b))
		if _, ok := got.(io.WriterTo); !ok {
			t.Error("the body is not an io.WriterTo")
		}
		g, err1 := io.ReadAll(iotest.OneByteReader(got))
		w, err2 := io.ReadAll(iotest.OneByteReader(want))
		if !bytes.Equal(g, w) || err1 != err2 {
			t.Errorf("read %q %v, io.NopCloser %q %v", g, err1, w, err2)
		}
		if got.Close() != nil {
			t.Error("Close failed")
		}
		var out bytes.Buffer
		if n, err := newBody(b).(io.WriterTo).WriteTo(&out); err != nil || int(n) != len(b) || !bytes.Equal(out.Bytes(), b) {
			t.Errorf("WriteTo: %d %v", n, err)
		}
	}
}
