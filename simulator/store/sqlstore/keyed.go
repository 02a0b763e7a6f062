package sqlstore

import "sync"

// keyedMutex is one mutex per key, made on demand and dropped when no one
// holds or waits for it. It orders this process's updates of one object
// before they reach the database, so that they do not each hold a
// connection while waiting for the row, and — on SQLite, whose file one
// process owns — it is the object's lock itself.
//
// It is exact, not striped: domain code updates one object inside the
// update of another (a payment's update binds its 3-D Secure transaction),
// and two objects sharing a stripe would deadlock there.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	mu  sync.Mutex
	ref int
}

// lock takes key's mutex and returns its unlock.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedEntry{}
	}
	e := k.locks[key]
	if e == nil {
		e = &keyedEntry{}
		k.locks[key] = e
	}
	e.ref++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.ref--; e.ref == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// tryLock takes key's mutex if it is free.
func (k *keyedMutex) tryLock(key string) (unlock func(), ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.locks[key] != nil {
		return nil, false
	}
	if k.locks == nil {
		k.locks = map[string]*keyedEntry{}
	}
	e := &keyedEntry{ref: 1}
	e.mu.Lock()
	k.locks[key] = e
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.ref--; e.ref == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}, true
}
