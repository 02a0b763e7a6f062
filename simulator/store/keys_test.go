package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// uniqueKeys returns the unique keys t lists.
func uniqueKeys(t *kindTable) []string {
	var out []string
	for i := range t.keys.slots {
		if sl := &t.keys.slots[i]; sl.o != nil && sl.key != keyID {
			out = append(out, sl.name())
		}
	}
	return out
}

// TestKeyTableIsAMap: the key table answers as a Go map of ids and one of
// unique keys would, under random inserts and removals; the hashes are
// drawn from a few values (hashed: colliding, in runs that wrap around the
// end of the slots) as often as they are the keys' own, and an id and a
// unique key may be the same string.
func TestKeyTableIsAMap(t *testing.T) {
	type entry struct {
		o *object
		h uint32
	}
	for _, colliding := range []bool{false, true} {
		kt := newKeyTable()
		hash := func(s string) uint32 {
			if colliding {
				return uint32(len(s)%3) * 0x7fffffff // 0, near the end of the slots, 2*(2^31-1)
			}
			return kt.hash(s)
		}
		ids, uniq := map[string]entry{}, map[string]entry{}
		r := rand.New(rand.NewPCG(7, 8))
		for i := range 20000 {
			name := fmt.Sprint("k", r.IntN(3000))
			switch op := r.IntN(4); {
			case op == 0 && ids[name].o == nil:
				o := &object{id: name}
				o.setList([]string{"ix", name}) // an index key, then name as a unique key
				h := hash(name)
				kt.insert(h, o, keyID)
				ids[name] = entry{o, h}
				if uniq[name].o == nil && r.IntN(2) == 0 {
					kt.insert(h, o, 1)
					uniq[name] = entry{o, h}
				}
			case op == 1 && ids[name].o != nil:
				e := ids[name]
				kt.remove(e.h, e.o, keyID)
				delete(ids, name)
				if u := uniq[name]; u.o == e.o {
					kt.remove(u.h, u.o, 1)
					delete(uniq, name)
				}
			default:
				if got := kt.find(hash(name), name, false); got != ids[name].o {
					t.Fatalf("step %d: id %s finds %p, want %p", i, name, got, ids[name].o)
				}
				if got := kt.find(hash(name), name, true); got != uniq[name].o {
					t.Fatalf("step %d: key %s finds %p, want %p", i, name, got, uniq[name].o)
				}
			}
			if kt.n != len(ids)+len(uniq) {
				t.Fatalf("step %d: %d slots used for %d keys", i, kt.n, len(ids)+len(uniq))
			}
		}
		for name, e := range ids {
			if kt.find(hash(name), name, false) != e.o {
				t.Fatalf("id %s lost", name)
			}
		}
		if len(kt.slots) > 1<<13 {
			t.Fatalf("%d slots for at most 6 000 keys", len(kt.slots))
		}
	}
}
