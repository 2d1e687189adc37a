package history

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// FuzzDecodeChunk feeds arbitrary bytes, as a damaged history.db could hold them, to
// every path that reads a stored chunk. None may panic; what decodeChunk accepts must
// iterate cleanly and re-encode.
func FuzzDecodeChunk(f *testing.F) {
	c := chunkenc.NewXORChunk()
	app, _ := c.Appender()
	for i := range 30 {
		app.Append(0, int64(i)*10_000, float64(i*i)/3)
	}
	f.Add(c.Bytes())
	f.Add([]byte{})
	f.Add([]byte{0, 1})
	f.Add(encodeBlock(0, []blockChunk{{id: 3, chunkMeta: chunkMeta{mint: 0, maxt: 290_000, data: c.Bytes()}}}))
	f.Add(encodeHeadRecord(headDelta, []headEntry{{id: 1, mint: 0, n: 30, bytes: c.Bytes()}}))
	f.Add([]byte{0xff, 0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		wd := time.AfterFunc(3*time.Second, func() { panic(fmt.Sprintf("slow input %x", b)) })
		defer wd.Stop()
		info, err := decodeChunk(b)
		mint := int64(0)
		if len(b) > 2 {
			mint = info.mint
		}
		_ = plausibleChunk(mint, b)
		it := &chunksIterator[int64]{}
		it.reset([]chunkMeta{{mint: mint, maxt: info.maxt, data: b}})
		for it.Next() == chunkenc.ValFloat {
		}
		it.reset([]chunkMeta{{mint: mint, maxt: info.maxt, data: b}})
		it.Seek(mint + 1)
		if bl, err := parseBlock(0, b); err == nil {
			for i := range bl.n {
				_, c, _ := bl.entry(i)
				_ = plausibleChunk(c.mint, c.data)
			}
			_ = bl.searchFrom(0, 1)
		}
		_, _, _ = parseBlockKey(b)
		_ = applyHeadRecord(map[uint32]*openChunk{}, b)
		_, _ = decodeLabels(b)
		if err != nil {
			return
		}
		if info.n == 0 || info.maxt < info.mint {
			t.Fatalf("accepted chunk with %d samples, range [%d,%d]", info.n, info.mint, info.maxt)
		}
		head, _, err := reencode(b)
		if err != nil {
			t.Fatalf("accepted chunk does not re-encode: %v", err)
		}
		if head.NumSamples() != info.n {
			t.Fatalf("re-encoded %d samples, want %d", head.NumSamples(), info.n)
		}
		for _, counter := range []bool{false, true} {
			ds, err := downsampleChunk(chunkMeta{mint: info.mint, maxt: info.maxt, data: b}, 60_000, counter, chunkenc.NewXORChunk())
			if err != nil {
				t.Fatalf("accepted chunk does not downsample: %v", err)
			}
			if dinfo, err := decodeChunk(ds.data); err != nil || dinfo.n > info.n || dinfo.mint != ds.mint || dinfo.maxt != info.maxt {
				t.Fatalf("downsampled %d samples [%d,%d] to %+v (%v)", info.n, info.mint, info.maxt, dinfo, err)
			}
		}
	})
}
