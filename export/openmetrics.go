package export

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// openMetrics writes OpenMetrics text with a timestamp (seconds) on every sample, one
// family after the other, each series' samples together in time order, then # EOF.
type openMetrics struct {
	w    io.Writer
	buf  []byte
	name []byte // the current series' text up to the value
}

func newOpenMetrics(w io.Writer) *openMetrics { return &openMetrics{w: w} }

// omTypes maps the text format's types to OpenMetrics'; anything else is unknown.
var omTypes = map[string]string{
	"counter": "counter", "gauge": "gauge", "histogram": "histogram", "summary": "summary",
}

// omEscaper escapes HELP text and label values as OpenMetrics requires.
var omEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func (o *openMetrics) family(name, typ, help string) error {
	omType, ok := omTypes[typ]
	if !ok {
		omType = "unknown"
	}
	if omType == "counter" {
		// An OpenMetrics counter family is named without the _total its samples carry.
		name = strings.TrimSuffix(name, "_total")
	}
	b := append(o.buf[:0], "# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, omType...)
	b = append(b, '\n')
	if help != "" {
		b = append(b, "# HELP "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = append(b, omEscaper.Replace(help)...)
		b = append(b, '\n')
	}
	o.buf = b
	_, err := o.w.Write(b)
	return err
}

func (o *openMetrics) series(lset labels.Labels, it chunkenc.Iterator, mint, maxt int64) (int, error) {
	o.name = append(o.name[:0], lset.Get(model.MetricNameLabel)...)
	first := true
	lset.Range(func(l labels.Label) {
		if l.Name == model.MetricNameLabel {
			return
		}
		if first {
			o.name = append(o.name, '{')
		} else {
			o.name = append(o.name, ',')
		}
		first = false
		o.name = append(o.name, l.Name...)
		o.name = append(o.name, '=')
		o.name = append(o.name, '"')
		o.name = append(o.name, omEscaper.Replace(l.Value)...)
		o.name = append(o.name, '"')
	})
	if !first {
		o.name = append(o.name, '}')
	}
	o.name = append(o.name, ' ')
	n := 0
	b := o.buf[:0]
	for {
		t, v, ok := nextSample(it, mint, maxt)
		if !ok {
			break
		}
		b = append(b, o.name...)
		b = appendFloat(b, v)
		b = append(b, ' ')
		b = appendSeconds(b, t)
		b = append(b, '\n')
		n++
		if len(b) >= 64<<10 {
			if _, err := o.w.Write(b); err != nil {
				return n, err
			}
			b = b[:0]
		}
	}
	o.buf = b
	if err := it.Err(); err != nil {
		return n, err
	}
	_, err := o.w.Write(b)
	return n, err
}

func (o *openMetrics) end() error {
	if _, err := io.WriteString(o.w, "# EOF\n"); err != nil {
		return err
	}
	if bw, ok := o.w.(*bufio.Writer); ok {
		return bw.Flush()
	}
	return nil
}

// appendSeconds writes a Unix ms timestamp as seconds. Parsers read it as a float and
// truncate its product by 1000 to ms, so a fraction whose float falls just below the
// exact ms gets half a ms more, which truncates back to the same ms.
func appendSeconds(b []byte, ms int64) []byte {
	if ms%1000 == 0 {
		return strconv.AppendInt(b, ms/1000, 10)
	}
	start := len(b)
	b = strconv.AppendFloat(b, float64(ms)/1000, 'f', 3, 64)
	if f, err := strconv.ParseFloat(string(b[start:]), 64); err == nil && ms > 0 && int64(f*1000) != ms {
		b = append(b, '5')
	}
	return b
}
