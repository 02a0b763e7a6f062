package threeds

import (
	"encoding/json"
	"slices"
	"strings"
)

// IDs are the caller's journal ids an authentication keeps (orderNo,
// tradeNo, trans_no...): a few name/value pairs in name order. They were a
// map; a stored authentication is copied by the store on every read and
// update, and a map of two entries costs a few hundred bytes and an
// allocation of its own on each copy, where this slice costs one small
// allocation. In JSON they are an object, as the map was, so that stored
// documents read the same.
type IDs []IDPair

// IDPair is one journal id.
type IDPair struct {
	Name  string
	Value string
}

// idsOf returns m's entries in name order (nil for an empty map).
func idsOf(m map[string]string) IDs {
	if len(m) == 0 {
		return nil
	}
	ids := make(IDs, 0, len(m))
	for k, v := range m {
		ids = append(ids, IDPair{k, v})
	}
	slices.SortFunc(ids, func(a, b IDPair) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return ids
}

// journalIDs returns the ids of m and list in name order, a name in both
// (or twice in list) taking list's last value. A list already in order
// without a repeated name, alone, is returned as it is: the store keeps a
// copy of its own.
func journalIDs(m map[string]string, list IDs) IDs {
	if len(list) == 0 {
		return idsOf(m)
	}
	byName := func(a, b IDPair) int { return strings.Compare(a.Name, b.Name) }
	if len(m) == 0 && slices.IsSortedFunc(list, byName) && uniqueNames(list) {
		return list
	}
	ids := append(make(IDs, 0, len(m)+len(list)), idsOf(m)...)
	for _, p := range list {
		if i := slices.IndexFunc(ids, func(q IDPair) bool { return q.Name == p.Name }); i >= 0 {
			ids[i].Value = p.Value
			continue
		}
		ids = append(ids, p)
	}
	slices.SortFunc(ids, byName)
	return ids
}

// uniqueNames reports whether a list in name order names each id once.
func uniqueNames(sorted IDs) bool {
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Name == sorted[i-1].Name {
			return false
		}
	}
	return true
}

// MarshalJSON writes the ids as an object, names in order.
func (ids IDs) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, len(ids))
	for _, p := range ids {
		m[p.Name] = p.Value
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads an object of strings.
func (ids *IDs) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*ids = idsOf(m)
	return nil
}
