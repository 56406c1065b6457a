package prom

import (
	"bufio"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// ContentType is the text exposition format's.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler serves r's families in the text exposition format.
func Handler(r *Registry) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fs, _ := r.Gather()
		w.Header().Set("Content-Type", ContentType)
		_ = WriteText(w, fs)
	})
}

// WriteText writes families in the text exposition format (version 0.0.4).
func WriteText(w io.Writer, fs []*Family) error {
	b := bufio.NewWriter(w)
	for _, f := range fs {
		b.WriteString("# HELP ")
		b.WriteString(f.Name)
		b.WriteByte(' ')
		b.WriteString(escape(f.Help, false))
		b.WriteString("\n# TYPE ")
		b.WriteString(f.Name)
		b.WriteByte(' ')
		b.WriteString(f.Type)
		b.WriteByte('\n')
		for _, s := range f.Metric {
			switch {
			case s.Histogram != nil:
				h := s.Histogram
				for i, bound := range h.Bounds {
					line(b, f.Name+"_bucket", s.Label, &LabelPair{"le", formatFloat(bound)}, float64(h.Cumulative[i]))
				}
				line(b, f.Name+"_bucket", s.Label, &LabelPair{"le", "+Inf"}, float64(h.Count))
				line(b, f.Name+"_sum", s.Label, nil, h.Sum)
				line(b, f.Name+"_count", s.Label, nil, float64(h.Count))
			case s.Counter != nil:
				line(b, f.Name, s.Label, nil, s.Counter.Value)
			case s.Gauge != nil:
				line(b, f.Name, s.Label, nil, s.Gauge.Value)
			}
		}
	}
	return b.Flush()
}

func line(b *bufio.Writer, name string, labels []*LabelPair, extra *LabelPair, v float64) {
	b.WriteString(name)
	if len(labels) > 0 || extra != nil {
		b.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				b.WriteByte(',')
			}
			label(b, l)
		}
		if extra != nil {
			if len(labels) > 0 {
				b.WriteByte(',')
			}
			label(b, extra)
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(formatFloat(v))
	b.WriteByte('\n')
}

func label(b *bufio.Writer, l *LabelPair) {
	b.WriteString(l.Name)
	b.WriteString(`="`)
	b.WriteString(escape(l.Value, true))
	b.WriteByte('"')
}

// escape escapes a backslash and a newline (help text), and a double quote
// too in a label value.
func escape(s string, quote bool) string {
	if !strings.ContainsAny(s, "\\\n\"") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	if quote {
		r = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	}
	return r.Replace(s)
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
