package schema

// quickNames finds a name among a fixed set (a struct's JSON names, an
// object's properties) without hashing the whole key: a table indexed by a
// key's length and three of its bytes holds, for each slot only one name
// falls in, that name's index; the key is then compared with the name. A
// key in a slot of no name or of several is looked up in the set's map as
// before, so the answer is the map's (TestQuickNamesAreTheMap). A body's
// keys were a map lookup each, twice: decoding and validating.
type quickNames struct {
	slot  [quickSlots]int16 // index+1 of the slot's only name; 0 none or several
	names []string
}

const quickSlots = 128

func quickSlot(key []byte) int {
	n := len(key)
	if n == 0 {
		return 0
	}
	return (n*7 + int(key[0])*3 + int(key[n/2])*5 + int(key[n-1])) & (quickSlots - 1)
}

// newQuickNames indexes names (name i at index i).
func newQuickNames(names []string) *quickNames {
	q := &quickNames{names: names}
	var count [quickSlots]int
	for _, n := range names {
		count[quickSlot([]byte(n))]++
	}
	for i, n := range names {
		if s := quickSlot([]byte(n)); count[s] == 1 && i < 1<<15-1 {
			q.slot[s] = int16(i + 1)
		}
	}
	return q
}

// find returns the index of key among the names, and whether the table
// could tell: false means "ask the map" (a key no name shares a slot with
// alone, or one that is not a name).
func (q *quickNames) find(key []byte) (int, bool) {
	j := int(q.slot[quickSlot(key)]) - 1
	if j >= 0 && q.names[j] == string(key) {
		return j, true
	}
	return 0, false
}
