package openapi

import "net/http"

// StatusRecorder remembers the status a handler answered with, for access
// logs and journal entries written after the handler returns. It passes every
// write straight through; Unwrap lets http.ResponseController (and the fault
// actions that hijack a connection) reach the connection underneath.
type StatusRecorder struct {
	http.ResponseWriter
	// Status is the first status written; 200 once a body is written without
	// one; 0 while nothing has been written.
	Status int
}

// WriteHeader records the first status and passes it on.
func (w *StatusRecorder) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and passes the bytes on.
func (w *StatusRecorder) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the wrapped writer.
func (w *StatusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
