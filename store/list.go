package store

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/gemini-flow/gemini-flow/workflow"
)

// ListQuery filters and pages Workflows.List.
type ListQuery struct {
	Search string   // case-insensitive substring of name or description; "" matches all
	Tags   []string // any of these tags (case-insensitive); empty matches all
	Offset int
	Limit  int // 0 or less: no limit
}

// listed is one match: the metadata needed to filter and sort, and the key to load.
type listed struct {
	createdAt int64
	id        string
}

// listMeta is the subset of metadata that filtering and sorting read.
type listMeta struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	CreatedAt   int64    `json:"createdAt"`
	Tags        []string `json:"tags"`
}

// metadataPrefix is how every stored workflow begins: encoding/json writes struct fields in
// order and Metadata is the first.
var metadataPrefix = []byte(`{"metadata":`)

// List returns the workflows matching q, sorted by createdAt then id, and how many matched
// before paging. Only each record's metadata is decoded to filter; whole workflows are decoded
// for the returned page only.
func (ws *Workflows) List(q ListQuery) ([]workflow.Workflow, int, error) {
	search := strings.ToLower(q.Search)
	var out []workflow.Workflow
	total := 0
	err := ws.s.view(collWorkflows, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWorkflows)
		var matches []listed
		var m listMeta
		pre := newPrefilter(search, q.Tags)
		err := b.ForEach(func(k, v []byte) error {
			meta := metadataOf(v)
			if pre.rejects(meta) {
				return nil
			}
			if !pre.decode {
				if created, ok := createdAtOf(meta); ok {
					matches = append(matches, listed{createdAt: created, id: string(k)})
					return nil
				}
			}
			m = listMeta{Tags: m.Tags[:0]}
			if err := json.Unmarshal(meta, &m); err != nil {
				return &corruptRecord{id: string(k), err: err}
			}
			if !matchSearch(&m, search) || !matchTags(m.Tags, q.Tags) {
				return nil
			}
			matches = append(matches, listed{createdAt: m.CreatedAt, id: string(k)})
			return nil
		})
		if err != nil {
			return err
		}
		slices.SortFunc(matches, func(a, b listed) int {
			if a.createdAt != b.createdAt {
				if a.createdAt < b.createdAt {
					return -1
				}
				return 1
			}
			return strings.Compare(a.id, b.id)
		})
		total = len(matches)
		page := paginate(matches, q.Offset, q.Limit)
		out = make([]workflow.Workflow, 0, len(page))
		for _, e := range page {
			w, err := decodeWorkflow([]byte(e.id), b.Get([]byte(e.id)))
			if err != nil {
				return err
			}
			out = append(out, *w)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// metadataOf returns the metadata object at the start of a stored workflow, or the whole
// record when it does not have the expected shape (the full decode then finds metadata).
func metadataOf(v []byte) []byte {
	if !bytes.HasPrefix(v, metadataPrefix) {
		return v
	}
	rest := v[len(metadataPrefix):]
	if end := objectEnd(rest); end > 0 {
		return rest[:end]
	}
	return v
}

// objectEnd returns the length of the JSON object at the start of b, or 0 if none.
func objectEnd(b []byte) int {
	if len(b) == 0 || b[0] != '{' {
		return 0
	}
	depth := 0
	inString, escaped := false, false
	for i, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return 0
}

func matchSearch(m *listMeta, lowered string) bool {
	if lowered == "" {
		return true
	}
	return containsFold(m.Name, lowered) || containsFold(m.Description, lowered)
}

// containsFold reports whether lowered (already lower case) occurs in s ignoring case; it
// avoids lowering s when s is ASCII, the common case.
func containsFold(s, lowered string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return strings.Contains(strings.ToLower(s), lowered)
		}
	}
	n := len(lowered)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], lowered) {
			return true
		}
	}
	return false
}

func matchTags(have, want []string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		for _, h := range have {
			if strings.EqualFold(h, w) {
				return true
			}
		}
	}
	return false
}

func paginate(m []listed, offset, limit int) []listed {
	if offset < 0 {
		offset = 0
	}
	if offset >= len(m) {
		return nil
	}
	m = m[offset:]
	if limit > 0 && limit < len(m) {
		m = m[:limit]
	}
	return m
}

// corruptRecord reports a stored workflow whose metadata does not decode.
type corruptRecord struct {
	id  string
	err error
}

func (e *corruptRecord) Error() string {
	return ErrCorrupt.Error() + ": workflow " + e.id + ": " + e.err.Error()
}

func (e *corruptRecord) Unwrap() error { return ErrCorrupt }

// prefilter rejects records from their raw metadata bytes before any decoding: a record can
// only match if each filter's text occurs somewhere in it. Texts that JSON might escape are not
// prefiltered. Records that pass are decoded and checked exactly.
type prefilter struct {
	texts  [][]string // every group must have one member present (search; tags)
	decode bool       // a filter needs the decoded metadata
}

func newPrefilter(search string, tags []string) prefilter {
	p := prefilter{decode: search != "" || len(tags) > 0}
	if search != "" && plainASCII(search) {
		p.texts = append(p.texts, []string{search})
	}
	if len(tags) > 0 {
		group := make([]string, 0, len(tags))
		for _, t := range tags {
			if !plainASCII(t) {
				return p // one tag that may be escaped: cannot prefilter the group
			}
			group = append(group, strings.ToLower(t))
		}
		p.texts = append(p.texts, group)
	}
	return p
}

func (p *prefilter) rejects(meta []byte) bool {
	for _, group := range p.texts {
		found := false
		for _, t := range group {
			if containsFoldASCII(meta, t) {
				found = true
				break
			}
		}
		if !found {
			return true
		}
	}
	return false
}

// plainASCII reports whether s is printable ASCII that encoding/json writes unescaped.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// containsFoldASCII reports whether lowered (lower-case ASCII) occurs in b ignoring ASCII case.
func containsFoldASCII(b []byte, lowered string) bool {
	n := len(lowered)
	if n == 0 {
		return true
	}
	first := lowered[0]
	for i := 0; i+n <= len(b); i++ {
		if lowerASCII(b[i]) != first {
			continue
		}
		j := 1
		for j < n && lowerASCII(b[i+j]) == lowered[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// createdAtKey can only occur at the metadata's top level: inside a JSON string a quote is
// always escaped, and metadata holds no nested objects.
var createdAtKey = []byte(`,"createdAt":`)

// createdAtOf reads metadata.createdAt from the raw bytes without decoding the record.
func createdAtOf(meta []byte) (int64, bool) {
	i := bytes.Index(meta, createdAtKey)
	if i < 0 {
		return 0, false
	}
	rest := meta[i+len(createdAtKey):]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	if end == 0 || end > 18 || end == len(rest) || (rest[end] != ',' && rest[end] != '}') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	return n, err == nil
}
