package notify

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// repeatInterval is how often a webhook hears again of alerts that keep firing unchanged,
// Alertmanager's default repeat_interval.
const repeatInterval = 4 * time.Hour

// Message is the JSON Alertmanager posts to a webhook receiver (payload version 4).
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []MessageAlert    `json:"alerts"`
}

// MessageAlert is one alert of a Message.
type MessageAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// The values of a Message's and a MessageAlert's status.
const (
	statusFiring   = "firing"
	statusResolved = "resolved"
	receiverName   = "webhook"
)

// webhook groups alerts by alertname, as a route with group_by: [alertname] does, and
// posts a group when an alert in it starts firing or resolves, and every repeatInterval
// while it keeps firing.
type webhook struct {
	url, externalURL string

	mu     sync.Mutex
	groups map[string]*webhookGroup // by alertname
}

type webhookGroup struct {
	alerts   map[model.Fingerprint]Alert
	notified map[model.Fingerprint]bool // firing alerts the receiver has heard of
	lastSent time.Time
}

func newWebhook(url, externalURL string) *webhook {
	return &webhook{url: url, externalURL: externalURL, groups: map[string]*webhookGroup{}}
}

// messages folds a batch into the groups and returns the messages due now.
func (w *webhook) messages(batch []Alert, now time.Time) []Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	changed := map[string]bool{}
	for _, a := range batch {
		name := a.Labels.Get(labels.AlertName)
		g := w.groups[name]
		if g == nil {
			g = &webhookGroup{alerts: map[model.Fingerprint]Alert{}, notified: map[model.Fingerprint]bool{}}
			w.groups[name] = g
		}
		fp := fingerprint(a.Labels)
		resolved := a.Resolved(now)
		if resolved == g.notified[fp] { // news: a firing alert not yet told, or a told one resolved
			changed[name] = true
		}
		if resolved && !g.notified[fp] {
			continue // resolved before the receiver heard of it firing
		}
		g.alerts[fp] = a
	}
	var out []Message
	for _, name := range slices.Sorted(maps.Keys(w.groups)) {
		g := w.groups[name]
		if len(g.alerts) == 0 || (!changed[name] && now.Sub(g.lastSent) < repeatInterval) {
			continue
		}
		out = append(out, w.message(name, g, now))
		g.lastSent = now
	}
	return out
}

// message renders a group, forgetting the resolved alerts it reports.
func (w *webhook) message(name string, g *webhookGroup, now time.Time) Message {
	m := Message{
		Version: "4", GroupKey: `{}:{alertname="` + name + `"}`, Status: statusResolved, Receiver: receiverName,
		GroupLabels: map[string]string{labels.AlertName: name}, ExternalURL: w.externalURL,
	}
	fps := slices.Sorted(maps.Keys(g.alerts))
	for i, fp := range fps {
		a := g.alerts[fp]
		ma := MessageAlert{Status: statusFiring, Labels: a.Labels.Map(), Annotations: a.Annotations.Map(),
			StartsAt: a.StartsAt, GeneratorURL: a.GeneratorURL, Fingerprint: fp.String()}
		if a.Resolved(now) {
			ma.Status, ma.EndsAt = statusResolved, a.EndsAt
			delete(g.alerts, fp)
			delete(g.notified, fp)
		} else {
			m.Status = statusFiring
			g.notified[fp] = true
		}
		if i == 0 {
			m.CommonLabels, m.CommonAnnotations = maps.Clone(ma.Labels), maps.Clone(ma.Annotations)
		} else {
			intersect(m.CommonLabels, ma.Labels)
			intersect(m.CommonAnnotations, ma.Annotations)
		}
		m.Alerts = append(m.Alerts, ma)
	}
	return m
}

// intersect keeps in common only the pairs also in other.
func intersect(common, other map[string]string) {
	for k, v := range common {
		if other[k] != v {
			delete(common, k)
		}
	}
}

// fingerprint is Alertmanager's fingerprint of an alert's labels.
func fingerprint(ls labels.Labels) model.Fingerprint {
	set := make(model.LabelSet, ls.Len())
	ls.Range(func(l labels.Label) { set[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
	return set.Fingerprint()
}
