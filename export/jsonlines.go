package export

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// maxLineSamples bounds the samples of one JSON line: a long series is written as several
// lines with the same labels, as VictoriaMetrics' own export writes it, keeping each line
// far below its import's line length limit and the writer's buffers small.
const maxLineSamples = 8192

// jsonLines writes VictoriaMetrics' JSON line format:
// {"metric":{"__name__":"up","job":"j"},"values":[1,1],"timestamps":[1700000000000,1700000010000]}
type jsonLines struct {
	w      io.Writer
	head   []byte // the line's start up to and including "values":[
	values []byte
	times  []byte
}

func newJSONLines(w io.Writer) *jsonLines { return &jsonLines{w: w} }

func (*jsonLines) family(string, string, string) error { return nil }

func (j *jsonLines) series(lset labels.Labels, it chunkenc.Iterator, mint, maxt int64) (int, error) {
	j.head = append(j.head[:0], `{"metric":{`...)
	first := true
	lset.Range(func(l labels.Label) {
		if !first {
			j.head = append(j.head, ',')
		}
		first = false
		j.head = appendJSONString(j.head, l.Name)
		j.head = append(j.head, ':')
		j.head = appendJSONString(j.head, l.Value)
	})
	j.head = append(j.head, `},"values":[`...)
	n, inLine := 0, 0
	for {
		t, v, ok := nextSample(it, mint, maxt)
		if !ok {
			break
		}
		if inLine > 0 {
			j.values = append(j.values, ',')
			j.times = append(j.times, ',')
		}
		j.values = appendFloat(j.values, v)
		j.times = strconv.AppendInt(j.times, t, 10)
		n++
		inLine++
		if inLine == maxLineSamples {
			if err := j.flush(); err != nil {
				return n, err
			}
			inLine = 0
		}
	}
	if err := it.Err(); err != nil {
		return n, err
	}
	if inLine > 0 {
		return n, j.flush()
	}
	return n, nil
}

func (j *jsonLines) flush() error {
	line := append(j.head, j.values...)
	line = append(line, `],"timestamps":[`...)
	line = append(line, j.times...)
	line = append(line, "]}\n"...)
	_, err := j.w.Write(line)
	j.head = line[:len(j.head)] // keep the grown buffer; the head bytes are unchanged
	j.values, j.times = j.values[:0], j.times[:0]
	return err
}

func (j *jsonLines) end() error {
	if bw, ok := j.w.(*bufio.Writer); ok {
		return bw.Flush()
	}
	return nil
}

// appendFloat writes v as both formats spell a value: the shortest decimal that reads back
// as v, or the bare NaN, +Inf and -Inf that OpenMetrics names and VictoriaMetrics' import
// reads (it drops NaN, which it takes for a staleness mark).
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendJSONString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
