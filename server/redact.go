package server

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
)

// redacted stands in for a secret in a log line.
const redacted = "[REDACTED]"

// secretPattern finds credentials in text that quotes a request (fasthttp's errors hold the
// raw bytes of a malformed one): an apiKey query value, and the values of the Authorization,
// X-API-Key and Cookie headers, up to the end of the line, raw or escaped by %q.
var secretPattern = regexp.MustCompile(`(?i)(apikey=)[^&\s"\\]*|((?:authorization|x-api-key|cookie)\s*:\s*)(?:[^\r\n"\\]|\\[^rn])*`)

// redactor scrubs the configured keys, and anything shaped like a credential, from every
// message and attribute before the wrapped handler sees them.
type redactor struct {
	next slog.Handler
	keys *strings.Replacer
}

func newRedactor(next slog.Handler, keys [][]byte) slog.Handler {
	var pairs []string
	for _, k := range keys {
		if len(k) > 0 {
			pairs = append(pairs, string(k), redacted)
		}
	}
	return redactor{next: next, keys: strings.NewReplacer(pairs...)}
}

func (r redactor) scrub(s string) string {
	s = r.keys.Replace(s)
	// Every pattern needs '=' or ':'; the request log's own values (IDs, routes) have neither.
	if !strings.ContainsAny(s, "=:") {
		return s
	}
	return secretPattern.ReplaceAllString(s, "$1$2"+redacted)
}

func (r redactor) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.scrub(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		out := make([]any, len(attrs))
		for i, g := range attrs {
			out[i] = r.attr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		return slog.String(a.Key, r.scrub(v.String()))
	}
	return a
}

func (r redactor) Enabled(ctx context.Context, l slog.Level) bool { return r.next.Enabled(ctx, l) }

func (r redactor) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, r.scrub(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(r.attr(a))
		return true
	})
	return r.next.Handle(ctx, out)
}

func (r redactor) WithAttrs(attrs []slog.Attr) slog.Handler {
	scrubbed := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		scrubbed[i] = r.attr(a)
	}
	return redactor{next: r.next.WithAttrs(scrubbed), keys: r.keys}
}

func (r redactor) WithGroup(name string) slog.Handler {
	return redactor{next: r.next.WithGroup(name), keys: r.keys}
}
