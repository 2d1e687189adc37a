package store

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// entry is what listing needs of one stored workflow, kept in memory so that filtering and
// paging read no records. Once in the index an entry is only replaced, never changed (form
// aside, which is atomic), so a reader may keep one after releasing the lock.
type entry struct {
	data      string // the id, then the lower-case name, then the lower-case description
	createdAt int64
	tags      *[]string // lower case, shared with the index's tag postings; nil: none
	idEnd     uint32    // data[:idEnd] is the id
	nameEnd   uint32    // data[idEnd:nameEnd] is the name
	slot      uint32    // the entry's number in the index's postings
	// form says whether the stored bytes are exactly what encodeWorkflow writes for them, so
	// that they can be served without decoding and encoding again. Records of an older file
	// start unknown (an older encoder may have written them) and are checked when first served.
	form atomic.Uint32
}

// Values of entry.form.
const (
	formUnknown uint32 = iota
	formCanonical
	formOther
)

func (e *entry) id() string   { return e.data[:e.idEnd] }
func (e *entry) name() string { return e.data[e.idEnd:e.nameEnd] }
func (e *entry) desc() string { return e.data[e.nameEnd:] }

// tagList returns the entry's tags; the list may be shared with other entries.
func (e *entry) tagList() []string {
	if e.tags == nil {
		return nil
	}
	return *e.tags
}

// key is the id's bytes, shared with it: bbolt only reads keys.
func (e *entry) key() []byte { return unsafe.Slice(unsafe.StringData(e.data), e.idEnd) }

// newEntry returns the index entry of the workflow id with summary sm, copying its strings
// into one; tags are the summary's tags, kept as they are (nil: none).
func newEntry(id string, sm *summary, tags *[]string) *entry {
	b := make([]byte, 0, len(id)+len(sm.name)+len(sm.desc))
	b = append(append(append(b, id...), sm.name...), sm.desc...)
	e := &entry{data: unsafe.String(unsafe.SliceData(b), len(b)), createdAt: sm.createdAt, tags: tags,
		idEnd: uint32(len(id)), nameEnd: uint32(len(id) + len(sm.name))}
	if sm.flags&summaryCanonical != 0 {
		e.form.Store(formCanonical)
	}
	return e
}

// matches reports whether the entry matches the lower-cased filters: search in name or
// description, and any of tags.
func (e *entry) matches(search string, tags []string) bool {
	if search != "" && !strings.Contains(e.name(), search) && !strings.Contains(e.desc(), search) {
		return false
	}
	if len(tags) == 0 {
		return true
	}
	for _, want := range tags {
		if slices.Contains(e.tagList(), want) {
			return true
		}
	}
	return false
}

func compareEntries(a, b *entry) int {
	switch {
	case a.createdAt < b.createdAt:
		return -1
	case a.createdAt > b.createdAt:
		return 1
	}
	return strings.Compare(a.id(), b.id())
}

// index orders every stored workflow by createdAt then id, and keeps postings that narrow a
// search or a tag filter to the entries that can match: for every trigram (three bytes) of a
// lower-cased name or description, and for every lower-cased tag, the slots of the entries
// having it, in listing order. A filter walks its shortest posting and checks each entry
// exactly, so results are those of a full scan. bbolt stays the source of truth: the index is
// built from the summaries at Open and refreshed from them after every committed write.
type index struct {
	mu    sync.RWMutex
	order []uint32 // slots by createdAt, then id
	ids   idTable  // id → slot
	slots []*entry // by slot; nil where free
	free  []uint32
	grams map[uint32][]uint32 // trigram → slots, in listing order
	dense map[uint32]bool     // trigrams held by so many entries at Open that they are not posted
	long  []uint32            // slots of the entries whose trigrams are not posted, in listing order
	tags  map[string]*tagPosting
}

// tagPosting is the slots of the entries having one tag, in listing order; name is the tag,
// shared by those entries.
type tagPosting struct {
	name  string
	slots []uint32
}

// intern returns the index's copy of tag t, or a copy of t.
func (x *index) intern(t string) string {
	if p := x.tags[t]; p != nil {
		return p.name
	}
	return strings.Clone(t)
}

// reset replaces the whole index; entries need not be sorted. Each trigram's posting is
// sized exactly, all carved from one array: a first pass numbers the trigrams and counts
// their entries.
func (x *index) reset(entries []*entry) {
	slices.SortFunc(entries, compareEntries)
	for i, e := range entries {
		e.slot = uint32(i)
	}
	// The table by id is built meanwhile, on another core where there is one.
	var ids idTable
	ids.reset(len(entries))
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, e := range entries {
			ids.insert(e.id(), e.slot)
		}
	})
	number := map[uint32]uint32{} // trigram → its number
	var grams []uint32            // by number
	var counts []uint32           // by number
	size := 0
	for _, e := range entries {
		size += len(e.name()) + len(e.desc())
	}
	numbered := make([]uint32, 0, size) // every entry's trigrams' numbers, in entry order
	ends := make([]int, len(entries))
	// Neighbouring workflows share most trigrams: a small cache in front of the map saves
	// most of its look-ups.
	var cache [1 << 12]struct{ gram, number uint32 }
	for i, e := range entries {
		start := len(numbered)
		numbered = appendGrams(numbered, e)
		for j, g := range numbered[start:] {
			c := &cache[(g*2654435761)>>20]
			if c.gram != g || g == 0 {
				d, ok := number[g]
				if !ok {
					d = uint32(len(grams))
					number[g] = d
					grams, counts = append(grams, g), append(counts, 0)
				}
				c.gram, c.number = g, d
			}
			counts[c.number]++
			numbered[start+j] = c.number
		}
		ends[i] = len(numbered)
	}
	dense := map[uint32]bool{}
	posted := 0
	for d, n := range counts {
		if isDense(int(n), len(entries)) {
			dense[grams[d]] = true
			counts[d] = 0
		}
		posted += int(counts[d])
	}
	postings := make([][]uint32, len(grams))
	all := make([]uint32, posted)
	off := 0
	for d, n := range counts {
		postings[d] = all[off : off : off+int(n)]
		off += int(n)
	}
	start := 0
	for i, end := range ends {
		for _, d := range numbered[start:end] {
			if counts[d] > 0 {
				postings[d] = append(postings[d], uint32(i))
			}
		}
		start = end
	}
	byGram := make(map[uint32][]uint32, len(grams)-len(dense))
	for d, g := range grams {
		if counts[d] > 0 {
			byGram[g] = postings[d]
		}
	}
	var long []uint32
	tags := map[string]*tagPosting{}
	for _, e := range entries {
		if e.long() {
			long = append(long, e.slot)
		}
		list := e.tagList()
		for i, t := range list {
			if slices.Contains(list[:i], t) {
				continue
			}
			p := tags[t]
			if p == nil {
				p = &tagPosting{name: t}
				tags[t] = p
			}
			list[i] = p.name
			p.slots = append(p.slots, e.slot)
		}
	}
	wg.Wait()
	x.mu.Lock()
	order := make([]uint32, len(entries))
	for i := range order {
		order[i] = uint32(i)
	}
	x.order, x.ids, x.slots, x.free = order, ids, entries, nil
	x.grams, x.dense, x.tags, x.long = byGram, dense, tags, long
	x.mu.Unlock()
}

// maxPostedText is the longest name and description, together, whose trigrams are posted:
// beyond it an entry would cost 4 bytes a trigram for thousands of them. Longer ones are in
// the long posting instead, checked by every search. A variable for tests.
var maxPostedText = 512

// denseGrams says which trigrams Open leaves out of the postings: those held by more than
// share of the entries, in a store of at least minEntries. A search made only of such
// trigrams checks every entry, which costs at most 1/share times walking their postings,
// while their postings would cost 4 bytes an entry each. A variable for tests.
var denseGrams = struct {
	minEntries int
	share      float64
}{1000, 0.5}

func isDense(count, entries int) bool {
	return entries >= denseGrams.minEntries && float64(count) > denseGrams.share*float64(entries)
}

// postedGrams returns the trigrams of e that are posted: appendGrams' less the dense ones.
func (x *index) postedGrams(e *entry) []uint32 {
	return slices.DeleteFunc(appendGrams(nil, e), func(g uint32) bool { return x.dense[g] })
}

// long reports whether e's trigrams are left out of the postings.
func (e *entry) long() bool { return len(e.data)-int(e.idEnd) > maxPostedText }

// appendGrams appends the distinct trigrams of e's name and description, each taken within
// its own field, so that a trigram spanning the two is never indexed; none for a long entry.
func appendGrams(dst []uint32, e *entry) []uint32 {
	if e.long() {
		return dst
	}
	start := len(dst)
	dst = appendTrigrams(dst, e.name())
	dst = appendTrigrams(dst, e.desc())
	slices.Sort(dst[start:])
	return dst[:start+len(slices.Compact(dst[start:]))]
}

// appendTrigrams appends every trigram of s, repeats included.
func appendTrigrams(dst []uint32, s string) []uint32 {
	for i := 0; i+3 <= len(s); i++ {
		dst = append(dst, uint32(s[i])<<16|uint32(s[i+1])<<8|uint32(s[i+2]))
	}
	return dst
}

// setLocked stores e (nil: removes id) in place of what the index held for id.
func (x *index) setLocked(id string, e *entry) {
	old := x.ids.lookup(id, x.slots)
	if old != nil && e != nil && old.createdAt == e.createdAt {
		x.replaceLocked(old, e)
		return
	}
	slot := uint32(len(x.slots))
	if old != nil {
		x.unpost(old)
		x.order = x.removeSlot(x.order, old)
		x.ids.remove(id, x.slots)
		x.slots[old.slot] = nil
		slot = old.slot
		if e == nil {
			x.free = append(x.free, slot)
		}
	}
	if e == nil {
		return
	}
	if old == nil {
		if n := len(x.free); n > 0 {
			slot, x.free = x.free[n-1], x.free[:n-1]
		} else {
			x.slots = append(x.slots, nil)
		}
	}
	e.slot = slot
	x.slots[slot] = e
	x.order = x.insertSlot(x.order, e)
	x.ids.insert(id, slot)
	x.post(e)
}

// replaceLocked puts e in old's place: same id and createdAt, so the same place in the order
// and in every posting. Only the trigrams and tags that differ are posted or unposted: an
// edit that leaves the name, description and tags alone touches no posting.
func (x *index) replaceLocked(old, e *entry) {
	e.slot = old.slot
	x.slots[e.slot] = e
	if old.name() != e.name() || old.desc() != e.desc() {
		switch {
		case old.long() && !e.long():
			x.long = x.removeSlot(x.long, e)
		case !old.long() && e.long():
			x.long = x.insertSlot(x.long, e)
		}
		was, is := x.postedGrams(old), x.postedGrams(e)
		for _, g := range was {
			if _, ok := slices.BinarySearch(is, g); !ok {
				x.unpostGram(g, e)
			}
		}
		for _, g := range is {
			if _, ok := slices.BinarySearch(was, g); !ok {
				x.grams[g] = x.insertSlot(x.grams[g], e)
			}
		}
	}
	was, is := old.tagList(), e.tagList()
	for i, t := range was {
		if !slices.Contains(was[:i], t) && !slices.Contains(is, t) {
			x.unpostTag(t, e)
		}
	}
	for i, t := range is {
		if !slices.Contains(is[:i], t) && !slices.Contains(was, t) {
			x.postTag(i, e)
		} else if p := x.tags[t]; p != nil {
			is[i] = p.name
		}
	}
}

// post adds e, already in its slot, to the postings of its trigrams and tags.
func (x *index) post(e *entry) {
	if e.long() {
		x.long = x.insertSlot(x.long, e)
	}
	for _, g := range x.postedGrams(e) {
		x.grams[g] = x.insertSlot(x.grams[g], e)
	}
	list := e.tagList()
	for i, t := range list {
		if !slices.Contains(list[:i], t) {
			x.postTag(i, e)
		}
	}
}

// postTag adds e to the posting of its i-th tag, and shares that posting's copy of the tag.
func (x *index) postTag(i int, e *entry) {
	list := e.tagList()
	t := list[i]
	p := x.tags[t]
	if p == nil {
		p = &tagPosting{name: t}
		x.tags[t] = p
	}
	list[i] = p.name
	p.slots = x.insertSlot(p.slots, e)
}

// unpost removes e, still in its slot, from the postings of its trigrams and tags; a posting
// left empty is dropped.
func (x *index) unpost(e *entry) {
	if e.long() {
		x.long = x.removeSlot(x.long, e)
	}
	for _, g := range x.postedGrams(e) {
		x.unpostGram(g, e)
	}
	list := e.tagList()
	for i, t := range list {
		if !slices.Contains(list[:i], t) {
			x.unpostTag(t, e)
		}
	}
}

func (x *index) unpostGram(g uint32, e *entry) {
	if p := x.removeSlot(x.grams[g], e); len(p) > 0 {
		x.grams[g] = p
	} else {
		delete(x.grams, g)
	}
}

func (x *index) unpostTag(t string, e *entry) {
	p := x.tags[t]
	if p == nil {
		return
	}
	if p.slots = x.removeSlot(p.slots, e); len(p.slots) == 0 {
		delete(x.tags, t)
	}
}

// searchSlot finds e's place in a posting.
func (x *index) searchSlot(p []uint32, e *entry) (int, bool) {
	return slices.BinarySearchFunc(p, e, func(s uint32, e *entry) int { return compareEntries(x.slots[s], e) })
}

func (x *index) insertSlot(p []uint32, e *entry) []uint32 {
	if n := len(p); n == 0 || compareEntries(x.slots[p[n-1]], e) < 0 {
		return append(p, e.slot) // the usual case: the newest workflow
	}
	i, _ := x.searchSlot(p, e)
	return slices.Insert(p, i, e.slot)
}

func (x *index) removeSlot(p []uint32, e *entry) []uint32 {
	if i, ok := x.searchSlot(p, e); ok {
		return slices.Delete(p, i, i+1)
	}
	return p
}

// lookup returns the entry for id, or nil.
func (x *index) lookup(id string) *entry {
	x.mu.RLock()
	e := x.ids.lookup(id, x.slots)
	x.mu.RUnlock()
	return e
}

// query appends to dst the page of entries matching q and returns it with the number of
// matches before paging.
func (x *index) query(dst []*entry, q ListQuery) ([]*entry, int) {
	search := strings.ToLower(q.Search)
	var tags []string
	for _, t := range q.Tags {
		if t = strings.ToLower(t); !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	offset := max(q.Offset, 0)
	x.mu.RLock()
	defer x.mu.RUnlock()
	if search == "" && len(tags) == 0 {
		total := len(x.order)
		if offset >= total {
			return dst, total
		}
		end := total
		if q.Limit > 0 && q.Limit < total-offset {
			end = offset + q.Limit
		}
		for _, s := range x.order[offset:end] {
			dst = append(dst, x.slots[s])
		}
		return dst, total
	}
	total := 0
	visit := func(e *entry) {
		if !e.matches(search, tags) {
			return
		}
		if total >= offset && (q.Limit <= 0 || total-offset < q.Limit) {
			dst = append(dst, e)
		}
		total++
	}
	x.candidates(search, tags, visit)
	return dst, total
}

// candidates calls visit, in listing order, on a set of entries that holds every entry
// matching the filters: the shortest of the search's posted trigram postings with the long
// posting, or the tags' postings, or every entry when neither applies (a search shorter than
// three bytes, or made of dense trigrams only, without tags).
func (x *index) candidates(search string, tags []string, visit func(*entry)) {
	// The search's shortest trigram posting, to be walked with the long posting.
	var shortest []uint32
	byGrams := false
	for _, g := range appendTrigrams(make([]uint32, 0, 64), search) {
		if x.dense[g] {
			continue // not posted: any entry may hold it
		}
		p := x.grams[g]
		if !byGrams || len(p) < len(shortest) {
			shortest, byGrams = p, true
		}
		if len(p) == 0 {
			break // no posted entry holds this trigram, so none holds the search
		}
	}
	if byGrams && len(shortest)+len(x.long) == 0 {
		return
	}
	if len(tags) > 0 {
		var lists [][]uint32
		n := 0
		for _, t := range tags {
			if p := x.tags[t]; p != nil {
				lists = append(lists, p.slots)
				n += len(p.slots)
			}
		}
		if !byGrams || n < len(shortest)+len(x.long) {
			x.visitUnion(lists, n, visit)
			return
		}
	}
	if !byGrams {
		for _, s := range x.order {
			visit(x.slots[s])
		}
		return
	}
	x.visitMerged(shortest, x.long, visit)
}

// visitMerged calls visit on the entries of two postings that share none, in listing order.
func (x *index) visitMerged(a, b []uint32, visit func(*entry)) {
	for len(a) > 0 && len(b) > 0 {
		if compareEntries(x.slots[a[0]], x.slots[b[0]]) < 0 {
			visit(x.slots[a[0]])
			a = a[1:]
		} else {
			visit(x.slots[b[0]])
			b = b[1:]
		}
	}
	for _, s := range a {
		visit(x.slots[s])
	}
	for _, s := range b {
		visit(x.slots[s])
	}
}

// visitUnion calls visit on the entries of the postings, each once, in listing order.
func (x *index) visitUnion(lists [][]uint32, n int, visit func(*entry)) {
	if len(lists) == 1 {
		for _, s := range lists[0] {
			visit(x.slots[s])
		}
		return
	}
	all := make([]*entry, 0, n)
	for _, p := range lists {
		for _, s := range p {
			all = append(all, x.slots[s])
		}
	}
	slices.SortFunc(all, compareEntries)
	for _, e := range slices.Compact(all) {
		visit(e)
	}
}

// refreshHook, when set by a test, runs between a refresh's read and its update of the index.
var refreshHook func(id string)

// refresh sets id's index entry from the database as it is now. It runs after a commit that
// touched id; holding the index lock across the read means that whichever of two racing
// refreshes runs last reads a state that includes both commits, so the index cannot keep an
// older state than the database.
func (ws *Workflows) refresh(id string) {
	x := &ws.idx
	x.mu.Lock()
	defer x.mu.Unlock()
	var e *entry
	err := ws.s.readTx(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSummaries).Get([]byte(id))
		if v == nil {
			return nil
		}
		var sm summary
		if err := decodeSummary(&sm, []byte(id), v); err != nil {
			return err
		}
		var tags *[]string
		if len(sm.tags) > 0 {
			list := make([]string, len(sm.tags))
			for i, t := range sm.tags {
				list[i] = x.intern(t)
			}
			tags = &list
		}
		e = newEntry(id, &sm, tags)
		return nil
	})
	if err != nil {
		// Only a database closed under the write, or failing, gets here.
		slog.Warn("workflow index not refreshed", "id", id, "error", fmt.Sprint(err))
		return
	}
	if refreshHook != nil {
		refreshHook(id)
	}
	x.setLocked(id, e)
}
