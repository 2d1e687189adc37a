package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// storedMetadata decodes every stored record's metadata.
func storedMetadata(t *testing.T, s *Store) []workflow.Metadata {
	t.Helper()
	var all []workflow.Metadata
	must(t, s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketWorkflows).ForEach(func(k, v []byte) error {
			var w workflow.Workflow
			if err := json.Unmarshal(v, &w); err != nil {
				return err
			}
			all = append(all, w.Metadata)
			return nil
		})
	}))
	return all
}

// scanList answers q the way listing did before the index: over every stored record, filtered
// by lower-cased substring of name or description and any lower-cased tag, sorted by
// createdAt then id, then paged. It returns the page's ids and the total.
func scanList(all []workflow.Metadata, q ListQuery) (string, int) {
	search := strings.ToLower(q.Search)
	var match []workflow.Metadata
	for _, m := range all {
		if search != "" && !strings.Contains(strings.ToLower(m.Name), search) && !strings.Contains(strings.ToLower(m.Description), search) {
			continue
		}
		if len(q.Tags) > 0 && !slices.ContainsFunc(q.Tags, func(want string) bool {
			return slices.ContainsFunc(m.Tags, func(have string) bool {
				//lint:ignore SA6005 the filter's meaning is equality of lower cases, which EqualFold's folding is not
				return strings.ToLower(have) == strings.ToLower(want)
			})
		}) {
			continue
		}
		match = append(match, m)
	}
	slices.SortFunc(match, func(a, b workflow.Metadata) int {
		if a.CreatedAt != b.CreatedAt {
			return int(a.CreatedAt - b.CreatedAt)
		}
		return strings.Compare(a.ID, b.ID)
	})
	page := match[min(max(q.Offset, 0), len(match)):]
	if q.Limit > 0 && q.Limit < len(page) {
		page = page[:q.Limit]
	}
	ids := make([]string, len(page))
	for i, m := range page {
		ids[i] = m.ID
	}
	return strings.Join(ids, ","), len(match)
}

// Words that names, descriptions, tags and searches are made of: mixed case, shared
// substrings, and letters whose lower case is longer or shorter in bytes than their upper.
var searchWords = []string{"Report", "report", "REPORTING", "Digest", "di", "Straße", "STRASSE", "İstanbul",
	"ΣΊΣΥΦΟΣ", "σίσυφος", "Ⱥlpha", "KELVIN", "\u212aelvin", "a", "ab", "abc", "x-y", "%_.*", "日本語", "本語"}

func randomText(r *rand.Rand, n int) string {
	parts := make([]string, r.IntN(n+1))
	for i := range parts {
		parts[i] = searchWords[r.IntN(len(searchWords))]
	}
	return strings.Join(parts, []string{" ", "", "-"}[r.IntN(3)])
}

// randomQuery makes a query from the same words: fragments of them in any case, tags, pages.
func randomQuery(r *rand.Rand) ListQuery {
	var q ListQuery
	if r.IntN(4) > 0 {
		w := randomText(r, 2)
		if len(w) > 0 && r.IntN(2) == 0 {
			i := r.IntN(len(w))
			w = w[i:min(len(w), i+1+r.IntN(5))] // may cut a character in two
		}
		if r.IntN(2) == 0 {
			w = strings.ToUpper(w)
		}
		q.Search = w
	}
	for range r.IntN(3) {
		q.Tags = append(q.Tags, searchWords[r.IntN(len(searchWords))])
	}
	if r.IntN(3) == 0 {
		q.Offset, q.Limit = r.IntN(5), r.IntN(6)
	}
	return q
}

// TestSearchEqualsScan checks the index against a full scan after random creates, updates
// (renames, new descriptions and tags, moves in time), overwrites and deletes, and again after
// reopening the file and writing more, and after its summaries are rebuilt as for a file of
// an older version; half the seeds with a bound on posted text low enough that many entries
// are long, half with trigrams held by a tenth of the entries at Open left unposted.
func TestSearchEqualsScan(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			if seed%2 == 1 { // many entries too long to post, some moving in and out
				defer func(max int) { maxPostedText = max }(maxPostedText)
				maxPostedText = 16
			}
			if seed%4 >= 2 { // many dense trigrams, posted or not according to the last Open
				defer func(d struct {
					minEntries int
					share      float64
				}) {
					denseGrams = d
				}(denseGrams)
				denseGrams.minEntries, denseGrams.share = 0, 0.1
			}
			r := rand.New(rand.NewPCG(seed, 7))
			s := openUnchecked(t)
			s.db.NoSync = true // the file's durability is not what is tested
			ids := []string{}
			created := 0
			write := func(steps int) {
				for range steps {
					switch op := r.IntN(10); {
					case op < 4 || len(ids) == 0:
						id := fmt.Sprintf("w-%03d", created)
						created++
						w := sample(id, r.IntN(3), int64(r.IntN(50)))
						w.Metadata.Name, w.Metadata.Description = randomText(r, 3), randomText(r, 4)
						w.Metadata.Tags = strings.Fields(randomText(r, 3))
						must(t, s.Workflows.Create(w))
						ids = append(ids, id)
					case op < 7:
						_, err := s.Workflows.Update(ids[r.IntN(len(ids))], func(w *workflow.Workflow) error {
							switch r.IntN(4) {
							case 0:
								w.Metadata.Name = randomText(r, 3)
							case 1:
								w.Metadata.Description = randomText(r, 4)
							case 2:
								w.Metadata.Tags = strings.Fields(randomText(r, 3))
							case 3:
								w.Nodes = nil
							}
							return nil
						})
						must(t, err)
					case op < 8:
						w := sample(ids[r.IntN(len(ids))], 1, int64(r.IntN(50)))
						w.Metadata.Name = randomText(r, 2)
						must(t, s.Workflows.Put(w))
					default:
						i := r.IntN(len(ids))
						_, err := s.Workflows.Delete(ids[i])
						must(t, err)
						ids = slices.Delete(ids, i, i+1)
					}
				}
			}
			write(400)
			compareQueries(t, s, r)
			s = reopen(t, s)
			compareQueries(t, s, r)
			write(200)
			compareQueries(t, s, r)
			asOlderFile(t, s)
			s = reopen(t, s)
			defer checkAndClose(t, s)
			compareQueries(t, s, r)
		})
	}
}

// reopen closes s and opens its file again.
func reopen(t *testing.T, s *Store) *Store {
	t.Helper()
	must(t, s.Close())
	s2, err := Open(s.path, Options{})
	must(t, err)
	return s2
}

func compareQueries(t *testing.T, s *Store, r *rand.Rand) {
	t.Helper()
	queries := []ListQuery{{}, {Search: "a"}, {Search: "ß"}, {Search: "\xff"}, {Search: "REPORT", Limit: 3, Offset: 2},
		{Tags: []string{"report", "REPORT"}}, {Search: strings.Repeat("report", 2000)}}
	for range 200 {
		queries = append(queries, randomQuery(r))
	}
	all := storedMetadata(t, s)
	for _, q := range queries {
		wantIDs, wantTotal := scanList(all, q)
		if ids, total := listIDs(t, s, q); ids != wantIDs || total != wantTotal {
			t.Fatalf("%q: index gave %q (%d), scan %q (%d)", fmt.Sprintf("%+v", q), ids, total, wantIDs, wantTotal)
		}
	}
}

// TestOpenReadsSummariesOnly opens a file of an older version (records, no summaries), which
// builds the summaries once, then spoils every record's body: the next Open still succeeds
// with the same counts and index, since it reads no record, and only serving one notices.
func TestOpenReadsSummariesOnly(t *testing.T) {
	s := openUnchecked(t)
	for i := range 20 {
		w := sample(fmt.Sprintf("w-%02d", i), i%4, int64(i))
		if i%5 == 0 {
			w.Metadata.Description = "Quarterly"
		}
		must(t, s.Workflows.Create(w))
	}
	asOlderFile(t, s)
	s = reopen(t, s)
	wantStats, err := s.Stats()
	must(t, err)
	wantIDs, wantTotal := listIDs(t, s, ListQuery{Search: "quarterly", Offset: 1})
	if wantIDs != "w-05,w-10,w-15" || wantTotal != 4 || wantStats.WorkflowCount != 20 || wantStats.NodeCount != 30 {
		t.Fatalf("after building the summaries: %q %d %+v", wantIDs, wantTotal, wantStats)
	}
	must(t, s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWorkflows)
		var keys [][]byte
		must(t, b.ForEach(func(k, _ []byte) error { keys = append(keys, k); return nil }))
		for _, k := range keys {
			if err := b.Put(k, []byte("not a workflow")); err != nil {
				return err
			}
		}
		return nil
	}))
	s = reopen(t, s)
	defer func() { must(t, s.Close()) }()
	st, err := s.Stats()
	must(t, err)
	st.FileSizeBytes = wantStats.FileSizeBytes
	if st != wantStats {
		t.Errorf("counts %+v, want %+v", st, wantStats)
	}
	var page []string
	total, err := s.Workflows.page(ListQuery{Search: "QUARTERLY", Offset: 1}, func(p []*entry) error {
		for _, e := range p {
			page = append(page, e.id())
		}
		return nil
	})
	must(t, err)
	if ids := strings.Join(page, ","); ids != wantIDs || total != wantTotal {
		t.Errorf("index after reopening: %q %d, want %q %d", ids, total, wantIDs, wantTotal)
	}
	if _, err := s.Workflows.AppendJSON(nil, "w-05"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("serving a spoilt record: %v", err)
	}
}

// TestRecordWithoutSummary covers a record an older version wrote into a file that already
// has summaries: neither counted nor listed, it is counted and listed once rewritten, and
// counted off once deleted.
func TestRecordWithoutSummary(t *testing.T) {
	s := openTest(t, Options{})
	must(t, s.Workflows.Create(sample("a", 2, 1)))
	data, err := encodeWorkflow(sample("old", 3, 2))
	must(t, err)
	must(t, s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketWorkflows).Put([]byte("old"), data) }))
	counts := func(wantN, wantNodes int, wantIDs string) {
		t.Helper()
		st, err := s.Stats()
		must(t, err)
		ids, _ := listIDs(t, s, ListQuery{})
		if st.WorkflowCount != wantN || st.NodeCount != wantNodes || ids != wantIDs {
			t.Errorf("counts %d workflows %d nodes, listed %q; want %d %d %q", st.WorkflowCount, st.NodeCount, ids, wantN, wantNodes, wantIDs)
		}
	}
	counts(1, 2, "a")
	_, err = s.Workflows.Update("old", func(w *workflow.Workflow) error { w.Nodes = w.Nodes[:1]; return nil })
	must(t, err)
	counts(2, 3, "a,old")
	_, err = s.Workflows.Delete("old")
	must(t, err)
	counts(1, 2, "a")
	must(t, s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketWorkflows).Put([]byte("old"), data) }))
	_, err = s.Workflows.Delete("old")
	must(t, err)
	counts(1, 2, "a")
	must(t, s.Workflows.Put(sample("old", 3, 2)))
	counts(2, 5, "a,old")
}
