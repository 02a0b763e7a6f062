package paymentapp

import "sync"

// flight makes one operation of many deliveries. Genstore may deliver the same request
// twice at the same moment (CONTRACT.md §2); checking the store first is not enough, since
// both deliveries would find nothing and both would charge. So the first delivery of a key
// runs fn, and every delivery of that key that arrives while it runs waits for it and gets
// its answer. Once fn has returned, its answer is in the store, and later deliveries are
// answered from there (fn checks the store first).
type flight[T any] struct {
	mu    sync.Mutex
	calls map[string]*flightCall[T]
}

type flightCall[T any] struct {
	done chan struct{}
	val  T
}

// do runs fn for key unless a run for key is in progress, in which case it waits for that
// run and returns its value; shared says so.
func (f *flight[T]) do(key string, fn func() T) (val T, shared bool) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]*flightCall[T]{}
	}
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		<-c.done
		return c.val, true
	}
	c := &flightCall[T]{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()

	defer func() {
		f.mu.Lock()
		delete(f.calls, key)
		f.mu.Unlock()
		close(c.done)
	}()
	c.val = fn()
	return c.val, false
}
