package history

import "strings"

// Metadata is the HELP, TYPE and UNIT of one metric family, as /api/v1/metadata lists them.
type Metadata struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// Metadata returns the metadata of every metric family seen in the exposition, keyed by
// family name, in the shape of the Prometheus metadata API (one entry per family).
func (d *DB) Metadata() map[string][]Metadata {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string][]Metadata, len(d.meta))
	for name, m := range d.meta {
		if m.Type == "" {
			m.Type = "unknown"
		}
		out[name] = []Metadata{m}
	}
	return out
}

// FamilyMetadata returns the metadata of one metric family, by the name its TYPE line
// gave; ok is false for a family the exposition never described.
func (d *DB) FamilyMetadata(name string) (m Metadata, ok bool) {
	d.mu.Lock()
	m, ok = d.meta[name]
	d.mu.Unlock()
	if ok && m.Type == "" {
		m.Type = "unknown"
	}
	return m, ok
}

// The setters compare before storing so a steady exposition allocates nothing.
func (d *DB) setHelp(name, help []byte) {
	m := d.meta[string(name)]
	if m.Help == string(help) && m != (Metadata{}) {
		return
	}
	m.Help = strings.Clone(string(help))
	d.meta[string(name)] = m
	d.metaDirty = true
}

func (d *DB) setType(name []byte, typ string) {
	m := d.meta[string(name)]
	if m.Type == typ && m != (Metadata{}) {
		return
	}
	m.Type = typ
	d.meta[string(name)] = m
	d.metaDirty = true
}

func (d *DB) setUnit(name, unit []byte) {
	m := d.meta[string(name)]
	if m.Unit == string(unit) && m != (Metadata{}) {
		return
	}
	m.Unit = string(unit)
	d.meta[string(name)] = m
	d.metaDirty = true
}
