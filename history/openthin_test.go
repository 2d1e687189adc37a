package history

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
)

// TestThinnedHeadEqualsThinnedDecode appends samples of every shape a thinned read must
// keep (counter resets, staleness markers, equal values, gaps, cuts on windows and on the
// sample limit) and checks after each append that the open chunk kept thinned equals the
// open chunk decoded and thinned by chunksIterator, at every resolution, as a counter and
// not, also when the kind read changes between reads.
func TestThinnedHeadEqualsThinnedDecode(t *testing.T) {
	cases := []struct {
		name     string
		interval func(*rand.Rand) int64 // ms to the next sample
		value    func(r *rand.Rand, last float64) float64
	}{
		{"counter with resets and stale markers", jitter(10_000), func(r *rand.Rand, last float64) float64 {
			switch n := r.IntN(40); {
			case n == 0:
				return math.Float64frombits(value.StaleNaN)
			case n == 1:
				return float64(r.IntN(3))
			case n < 10 || math.IsNaN(last):
				return max(last, 0)
			default:
				return max(last, 0) + float64(r.IntN(5))
			}
		}},
		{"gauge", jitter(15_000), func(r *rand.Rand, last float64) float64 {
			if r.IntN(30) == 0 {
				return math.Float64frombits(value.StaleNaN)
			}
			return float64(r.IntN(4))
		}},
		{"dense samples cut on the sample limit", func(*rand.Rand) int64 { return 1000 }, func(r *rand.Rand, last float64) float64 {
			return last + float64(r.IntN(2)) - 0.5
		}},
		{"sparse with gaps", func(r *rand.Rand) int64 { return int64(r.IntN(900_000)) + 1 }, func(r *rand.Rand, last float64) float64 {
			return float64(r.IntN(3))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
			s := newSeries(1, labels.FromStrings("__name__", "x"))
			ts, v := int64(1_700_000_000_000+rng.IntN(3_600_000)), 0.0
			for n := range 6000 {
				ts += tc.interval(rng)
				v = tc.value(rng, v)
				s.append(ts, v)
				if n%7 != 0 && n%500 != 499 {
					continue // read now and then, so that the kept forms are extended in between
				}
				for r := range resolutions {
					counter := rng.IntN(2) == 0
					if got, want := openValues(s.thinnedHead(r, counter)), decodedThinned(s, resolutions[r].step, counter); !sameSamples(got, want) {
						t.Fatalf("sample %d, resolution %d, counter %v: kept %v, decoded %v", n, resolutions[r].step, counter, got, want)
					}
				}
			}
		})
	}
}

func jitter(ms int64) func(*rand.Rand) int64 {
	return func(r *rand.Rand) int64 { return ms - ms/10 + r.Int64N(ms/5) }
}

type tv struct {
	t int64
	v float64
}

func openValues(o *openSamples) []tv {
	var out []tv
	for i := range o.ts {
		out = append(out, tv{o.ts[i], o.vs[i]})
	}
	return append(out, tv{o.lt, o.lv})
}

// decodedThinned reads the open chunk as a thinned read did before it was kept thinned.
func decodedThinned(s *series, res int64, counter bool) []tv {
	var it chunksIterator[int64]
	it.reset([]chunkMeta{{mint: s.headMint, maxt: s.headMaxt, data: slices.Clone(s.head.Bytes())}})
	it.res, it.counter = res, counter
	var out []tv
	for it.Next() != 0 {
		t, v := it.At()
		out = append(out, tv{t, v})
	}
	return out
}

func sameSamples(a, b []tv) bool {
	return slices.EqualFunc(a, b, func(x, y tv) bool {
		return x.t == y.t && math.Float64bits(x.v) == math.Float64bits(y.v)
	})
}
