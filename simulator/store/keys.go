package store

import "hash/maphash"

// A keyTable maps the ids of one kind's objects, and the unique keys they
// claimed, to the objects: one open-addressing table (linear probing) of
// 16-byte slots instead of two Go maps. At steady state a kind stores and
// evicts an object for every one created, and that churn cost the maps
// most of their time: a create looked each key up (a miss: the key is
// new), then hashed it again to insert it; the maps' tombstones made them
// rehash and grow now and then; and eviction hashed each key again and
// compared its bytes to delete it. Here a key is hashed once for its
// create (free, then add) and once for its eviction, a slot is found again
// by its object's pointer, not by comparing the key, and deleting shifts
// the slots after it back (no tombstones, never a rehash but to grow). A
// slot names its key as its object's id or as the index of the unique key
// in the object's list (see object.list), so that the table holds no
// string of its own.
//
// The table is read under the store's read lock and changed under its
// write lock.
type keyTable struct {
	seed  maphash.Seed
	slots []keySlot // a power of two of them, or none
	n     int       // slots used
}

type keySlot struct {
	h   uint32 // the key's hash (the slot it would take, masked)
	key int32  // keyID: the object's id; else its unique key o.list()[key]
	o   *object
}

// keyID is a slot's key when it is its object's id.
const keyID int32 = -1

// maxLoad bounds the slots used, in tenths: a missing key (every create's)
// is found missing after 2–6 slots, in one or two cache lines.
const maxLoad = 7

func newKeyTable() keyTable { return keyTable{seed: maphash.MakeSeed()} }

// hash returns the hash of key s, for find, insert and remove.
func (t *keyTable) hash(s string) uint32 { return uint32(maphash.String(t.seed, s)) }

// name returns the key a used slot holds.
func (sl *keySlot) name() string {
	if sl.key == keyID {
		return sl.o.id
	}
	return sl.o.list()[sl.key]
}

// find returns the object whose id (unique false) or unique key (unique
// true) is s, of hash h; nil if none.
func (t *keyTable) find(h uint32, s string, unique bool) *object {
	if t.n == 0 {
		return nil
	}
	mask := uint32(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.o == nil {
			return nil
		}
		if sl.h == h && (sl.key != keyID) == unique && sl.name() == s {
			return sl.o
		}
	}
}

// insert lists o under a key of hash h that no object has: its id (key
// keyID) or its unique key o.list()[key].
func (t *keyTable) insert(h uint32, o *object, key int32) {
	if 10*(t.n+1) > maxLoad*len(t.slots) {
		t.grow()
	}
	mask := uint32(len(t.slots) - 1)
	i := h & mask
	for t.slots[i].o != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = keySlot{h: h, key: key, o: o}
	t.n++
}

// remove unlists o's key of hash h (key as in insert); it is listed.
func (t *keyTable) remove(h uint32, o *object, key int32) {
	mask := uint32(len(t.slots) - 1)
	i := h & mask
	for t.slots[i].o != o || t.slots[i].key != key {
		if t.slots[i].o == nil {
			panic("store: removing a key that is not listed")
		}
		i = (i + 1) & mask
	}
	// Shift back what follows, up to the first free slot, whatever could
	// have taken the freed slot: every key stays reachable from its own
	// slot without a gap (Knuth's algorithm R).
	for j := i; ; {
		j = (j + 1) & mask
		sl := t.slots[j]
		if sl.o == nil {
			break
		}
		home := sl.h & mask
		// sl stays unless its own slot is outside the cyclic range (i, j].
		if i < j && (home <= i || home > j) || i > j && home <= i && home > j {
			t.slots[i] = sl
			i = j
		}
	}
	t.slots[i] = keySlot{}
	t.n--
}

// grow doubles the slots (16 at first).
func (t *keyTable) grow() {
	old := t.slots
	t.slots = make([]keySlot, max(16, 2*len(old)))
	mask := uint32(len(t.slots) - 1)
	for _, sl := range old {
		if sl.o == nil {
			continue
		}
		i := sl.h & mask
		for t.slots[i].o != nil {
			i = (i + 1) & mask
		}
		t.slots[i] = sl
	}
}
