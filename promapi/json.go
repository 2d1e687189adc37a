package promapi

import (
	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/jsonutil"
)

// The writers below produce the bytes Prometheus's JSON codec produces: util/jsonutil for
// timestamps and values (values as strings, "+Inf", "NaN") and labels in their sorted order.
// Strings are escaped as Prometheus escapes them: label names and values in a metric plainly
// (its codec writes them straight to the stream), every other string (errors, warnings, label
// lists) with the standard library's HTML escaping. jsoniter is used only as the byte buffer
// that jsonutil writes into.

var jsonAPI = jsoniter.ConfigCompatibleWithStandardLibrary

// writeSuccess writes {"status":"success","data":…,"warnings":[…],"infos":[…]}; the two
// lists appear only when they hold something, data only when there is some.
func writeSuccess(st *jsoniter.Stream, data func(*jsoniter.Stream), warnings, infos []string) {
	st.WriteRaw(`{"status":"success"`)
	if data != nil {
		st.WriteRaw(`,"data":`)
		data(st)
	}
	writeStringList(st, "warnings", warnings)
	writeStringList(st, "infos", infos)
	st.WriteRaw(`}`)
}

// writeFailure writes {"status":"error","errorType":…,"error":…}.
func writeFailure(st *jsoniter.Stream, typ, msg string, warnings, infos []string) {
	st.WriteRaw(`{"status":"error","errorType":`)
	st.WriteStringWithHTMLEscaped(typ)
	st.WriteRaw(`,"error":`)
	st.WriteStringWithHTMLEscaped(msg)
	writeStringList(st, "warnings", warnings)
	writeStringList(st, "infos", infos)
	st.WriteRaw(`}`)
}

func writeStringList(st *jsoniter.Stream, field string, list []string) {
	if len(list) == 0 {
		return
	}
	st.WriteRaw(`,"` + field + `":`)
	writeStrings(st, list)
}

func writeStrings(st *jsoniter.Stream, list []string) {
	writeArray(st, list, (*jsoniter.Stream).WriteStringWithHTMLEscaped)
}

// writeArray writes list as a JSON array, each element by write.
func writeArray[E any](st *jsoniter.Stream, list []E, write func(*jsoniter.Stream, E)) {
	st.WriteArrayStart()
	for i, e := range list {
		if i > 0 {
			st.WriteMore()
		}
		write(st, e)
	}
	st.WriteArrayEnd()
}

// writeQueryData writes {"resultType":…,"result":…}.
func writeQueryData(st *jsoniter.Stream, v parser.Value) {
	st.WriteRaw(`{"resultType":`)
	st.WriteString(string(v.Type()))
	st.WriteRaw(`,"result":`)
	switch v := v.(type) {
	case promql.Matrix:
		writeArray(st, v, writeSeries)
	case promql.Vector:
		writeArray(st, v, writeSample)
	default:
		// Scalar and String carry their own MarshalJSON, which Prometheus's codec calls too.
		st.WriteVal(v)
	}
	st.WriteRaw(`}`)
}

func writeSeries(st *jsoniter.Stream, s promql.Series) {
	st.WriteRaw(`{"metric":`)
	writeLabels(st, s.Metric)
	if len(s.Floats) > 0 {
		st.WriteRaw(`,"values":`)
		writeArray(st, s.Floats, writeFPoint)
	}
	if len(s.Histograms) > 0 {
		st.WriteRaw(`,"histograms":`)
		writeArray(st, s.Histograms, writeHPoint)
	}
	st.WriteObjectEnd()
}

func writeFPoint(st *jsoniter.Stream, p promql.FPoint) {
	st.WriteArrayStart()
	jsonutil.MarshalTimestamp(p.T, st)
	st.WriteMore()
	jsonutil.MarshalFloat(p.F, st)
	st.WriteArrayEnd()
}

func writeHPoint(st *jsoniter.Stream, p promql.HPoint) {
	st.WriteArrayStart()
	jsonutil.MarshalTimestamp(p.T, st)
	st.WriteMore()
	jsonutil.MarshalHistogram(p.H, st)
	st.WriteArrayEnd()
}

func writeSample(st *jsoniter.Stream, s promql.Sample) {
	st.WriteRaw(`{"metric":`)
	writeLabels(st, s.Metric)
	if s.H == nil {
		st.WriteRaw(`,"value":[`)
	} else {
		st.WriteRaw(`,"histogram":[`)
	}
	jsonutil.MarshalTimestamp(s.T, st)
	st.WriteMore()
	if s.H == nil {
		jsonutil.MarshalFloat(s.F, st)
	} else {
		jsonutil.MarshalHistogram(s.H, st)
	}
	st.WriteRaw(`]}`)
}

func writeLabels(st *jsoniter.Stream, ls labels.Labels) {
	st.WriteObjectStart()
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			st.WriteMore()
		}
		first = false
		st.WriteString(l.Name)
		st.WriteRaw(`:`)
		st.WriteString(l.Value)
	})
	st.WriteObjectEnd()
}

func writeLabelSets(st *jsoniter.Stream, sets []labels.Labels) {
	writeArray(st, sets, writeLabels)
}
