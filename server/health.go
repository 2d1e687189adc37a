package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

func (s *Server) bindHealth() {
	s.handleRaw(http.MethodGet, "/health", s.health)
	s.handleRaw(http.MethodGet, "/livez", s.livez)
	s.handleRaw(http.MethodGet, "/readyz", s.readyz)
}

type dbStats struct {
	WorkflowCount   int   `json:"workflowCount"`
	NodeCount       int   `json:"nodeCount"`
	EdgeCount       int   `json:"edgeCount"`
	SessionCount    int   `json:"sessionCount"`
	LastStoreUpdate int64 `json:"lastStoreUpdate"`
	FileSizeBytes   int64 `json:"fileSizeBytes"`
}

type dbComponent struct {
	Status string   `json:"status"`
	Stats  *dbStats `json:"stats"`
	Error  string   `json:"error,omitempty"`
}

type wsComponent struct {
	Status           string `json:"status"`
	ClientsConnected int    `json:"clientsConnected"`
}

type historyComponent struct {
	Status           string  `json:"status"`
	Series           int     `json:"series"`
	SamplesAppended  uint64  `json:"samplesAppended"`
	Bytes            int64   `json:"bytes"`
	LastSample       *string `json:"lastSample"`
	CheckpointErrors uint64  `json:"checkpointErrors"`
}

type components struct {
	Database  dbComponent       `json:"database"`
	WebSocket wsComponent       `json:"websocket"`
	History   *historyComponent `json:"history,omitempty"`
	Rules     any               `json:"rules,omitempty"`
}

type healthReport struct {
	Status        string     `json:"status"`
	Timestamp     string     `json:"timestamp"`
	Service       string     `json:"service"`
	Version       string     `json:"version"`
	UptimeSeconds float64    `json:"uptimeSeconds"`
	Components    components `json:"components"`
	Warnings      []string   `json:"warnings,omitempty"` // exposure a start-up warned of
}

// health reports every component; 503 when the database cannot be read.
func (s *Server) health(ctx *fasthttp.RequestCtx) {
	rep := healthReport{
		Status: "healthy", Timestamp: nowStamp(), Service: "gemini-flow-backend", Version: s.cfg.Version,
		UptimeSeconds: time.Since(s.started).Seconds(),
	}
	status := http.StatusOK
	rep.Components.Database = dbComponent{Status: "healthy"}
	st, err := s.deps.Store.Stats()
	if err == nil {
		err = s.deps.Store.Ping()
	}
	if err != nil {
		s.log.Error("health: database unreadable", "error", err)
		rep.Status, status = "unhealthy", http.StatusServiceUnavailable
		rep.Components.Database = dbComponent{Status: "unhealthy", Error: "database cannot be read"}
	} else {
		rep.Components.Database.Stats = &dbStats{st.WorkflowCount, st.NodeCount, st.EdgeCount, st.SessionCount, st.LastStoreUpdate, st.FileSizeBytes}
		if why := s.storageDegraded(); why != "" {
			rep.Status = "degraded"
			rep.Components.Database.Status, rep.Components.Database.Error = "degraded", why
		}
	}
	rep.Components.WebSocket = wsComponent{Status: "healthy"}
	if s.deps.Hub != nil {
		rep.Components.WebSocket.ClientsConnected = s.deps.Hub.Count()
	}
	if s.deps.History != nil {
		hs := s.deps.History.Stats()
		h := &historyComponent{Status: "healthy", Series: hs.Series, SamplesAppended: hs.SamplesAppended, Bytes: hs.Bytes, CheckpointErrors: hs.CheckpointErrors}
		if !hs.LastSample.IsZero() {
			ts := hs.LastSample.UTC().Format(timeLayout)
			h.LastSample = &ts
		}
		if hs.CheckpointErrors > 0 {
			h.Status = "degraded"
		}
		rep.Components.History = h
	}
	if s.deps.RulesHealth != nil {
		rep.Components.Rules = s.deps.RulesHealth()
	}
	rep.Warnings = s.exposure()
	b, _ := json.Marshal(rep)
	writeJSON(ctx, status, b)
}

func (s *Server) livez(ctx *fasthttp.RequestCtx) {
	writeJSON(ctx, http.StatusOK, []byte(`{"status":"ok"}`))
}

// readyz is 200 only while the server is ready and the database answers.
func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	if !s.ready.Load() {
		writeJSON(ctx, http.StatusServiceUnavailable, []byte(`{"status":"not ready"}`))
		return
	}
	if err := s.deps.Store.Ping(); err != nil {
		writeJSON(ctx, http.StatusServiceUnavailable, []byte(`{"status":"database unavailable"}`))
		return
	}
	writeJSON(ctx, http.StatusOK, []byte(`{"status":"ready"}`))
}

// storageFullMemory is how long /health reports a write refused for a full disk.
const storageFullMemory = 5 * time.Minute

// storageDegraded is why the database answers but may not keep what it is given: a file
// opened from its older meta page, or a write refused for a full disk lately.
func (s *Server) storageDegraded() string {
	if at := s.storageFullAt.Load(); at != 0 && time.Since(time.Unix(0, at)) < storageFullMemory {
		return "the disk is full: a write was refused at " + time.Unix(0, at).UTC().Format(timeLayout)
	}
	return s.deps.Store.Degraded()
}
