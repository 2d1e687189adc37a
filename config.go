package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gemini-flow/gemini-flow/dashboards"
	"github.com/gemini-flow/gemini-flow/promapi"
	"github.com/gemini-flow/gemini-flow/rules"
	"github.com/gemini-flow/gemini-flow/workflow"
)

// config is everything the binary reads from flags and the environment.
type config struct {
	Addr             string
	DataDir          string
	APIKeys          []string
	MetricsKey       string
	CORSOrigins      []string
	RateLimit        int
	HistoryInterval  time.Duration
	HistoryRetention time.Duration
	PushURL          string
	PushInterval     time.Duration
	RemoteWrite      remoteWriteConfig
	GeminiBaseURL    string
	GeminiModel      string
	GeminiAPIKey     string
	LogFormat        string
	LogLevel         string
	Limits           workflow.Limits
	AllowedHosts     []string
	MaxConns         int
	MaxConnsPerIP    int
	WriteTimeout     time.Duration
	WSMaxClients     int
	MemoryLimit      int64          // bytes; 0: none set here (GOMEMLIMIT, when set, still applies)
	RuleSources      []rules.Source // nil: rule evaluation off
	AlertmanagerURLs []string
	WebhookURLs      []string
	AlertResendDelay time.Duration // how often a firing alert is sent again
	AlertGracePeriod time.Duration // least time a restored pending alert still waits
	QueryLimits      promapi.Limits
	QueryCacheBytes  int64             // 0: the range query result cache is off
	Flags            map[string]string // every setting but the keys, for /api/v1/status/flags
}

// usageError is a bad flag or environment value: one line naming the flag, exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// option is one setting: its flag, its environment variable and its default.
type option struct {
	flag, env, def, help string
}

var options = []option{
	{"addr", "GEMINI_FLOW_ADDR", "127.0.0.1:3001", "listen address (PORT alone sets the port)"},
	{"data-dir", "GEMINI_FLOW_DATA_DIR", "./data", "directory holding gemini-flow.db and history.db"},
	{"api-key", "API_KEY", "", "comma-separated API keys required on /api/* and /ws (none: open)"},
	{"metrics-key", "METRICS_KEY", "", "bearer key required on /metrics and /api/v1/* (none: open)"},
	{"cors-origins", "CORS_ORIGINS", "http://localhost:5173,http://localhost:3000,http://localhost:3001", "comma-separated allowed CORS origins"},
	{"rate-limit", "RATE_LIMIT", "600", "requests per minute per client IP on /api/* (0: off)"},
	{"history-interval", "HISTORY_INTERVAL", "10s", "metric history sample interval (0: history off)"},
	{"history-retention", "HISTORY_RETENTION", "168h", "how long metric history is kept"},
	{"push-url", "PUSH_URL", "", "VictoriaMetrics import URL to push metrics to, e.g. http://127.0.0.1:8428/api/v1/import/prometheus"},
	{"push-interval", "PUSH_INTERVAL", "15s", "interval between metric pushes"},
	{"remote-write-url", "REMOTE_WRITE_URL", "", "Prometheus remote-write receivers of every history sample, repeatable or comma-separated"},
	{"remote-write-interval", "REMOTE_WRITE_INTERVAL", "", "how often new history samples are remote written (default: the history interval)"},
	{"remote-write-queue", "REMOTE_WRITE_QUEUE", "1000000", "samples held per remote-write receiver while it is down; beyond, the oldest are dropped and counted"},
	{"gemini-base-url", "GEMINI_BASE_URL", "https://generativelanguage.googleapis.com", "Gemini API base URL"},
	{"gemini-model", "GEMINI_MODEL", "gemini-2.0-flash", "Gemini model"},
	{"log-format", "LOG_FORMAT", "", "text or json (default: text on a terminal, else json)"},
	{"log-level", "LOG_LEVEL", "info", "debug, info, warn or error"},
	{"max-nodes", "MAX_NODES", "1000", "most nodes a workflow may hold"},
	{"max-edges", "MAX_EDGES", "5000", "most edges a workflow may hold"},
	{"allowed-hosts", "ALLOWED_HOSTS", "", "comma-separated Host names answered besides loopback ones (* : any)"},
	{"max-conns", "MAX_CONNS", "4096", "open connections in total"},
	{"max-conns-per-ip", "MAX_CONNS_PER_IP", "1024", "open connections from one client address"},
	{"write-timeout", "WRITE_TIMEOUT", "30s", "longest a response write (or a backup chunk) may stall"},
	{"ws-max-clients", "WS_MAX_CLIENTS", "2048", "WebSocket clients connected at once"},
	{"memory-limit", "MEMORY_LIMIT", "512MiB", "soft memory limit for the Go runtime (0: none; GOMEMLIMIT wins when set)"},
	{"rules-file", "RULES_FILE", "", "Prometheus rule files to evaluate, repeatable or comma-separated (default: the shipped dashboards/alerts.yml; none: off)"},
	{"alertmanager-url", "ALERTMANAGER_URL", "", "Alertmanager base URLs to send alerts to, repeatable or comma-separated"},
	{"alert-webhook-url", "ALERT_WEBHOOK_URL", "", "URLs that receive Alertmanager's webhook payload, repeatable or comma-separated"},
	{"alert-resend-delay", "ALERT_RESEND_DELAY", "1m", "how often a firing alert is sent again (Prometheus's --rules.alert.resend-delay)"},
	{"alert-for-grace-period", "ALERT_FOR_GRACE_PERIOD", "10m", "least time a pending alert restored after a restart still waits (Prometheus's --rules.alert.for-grace-period)"},
	{"query-max-length", "QUERY_MAX_LENGTH", "32768", "longest PromQL query in bytes"},
	{"query-max-depth", "QUERY_MAX_DEPTH", "256", "deepest PromQL nesting (brackets plus binary operators)"},
	{"query-max-points", "QUERY_MAX_POINTS", "1000000", "most evaluation points of a query (outer steps plus every subquery's)"},
	{"query-max-match", "QUERY_MAX_MATCH", "100", "most match[] parameters of one query API request"},
	{"query-max-concurrency", "QUERY_MAX_CONCURRENCY", "4", "queries evaluated at once; others wait in a bounded queue or get 503"},
	{"query-cache-size", "QUERY_CACHE_SIZE", "8MiB", "memory of the range query result cache (0: off)"},
}

// repeatable options may be given more than once; their values join as a comma list.
var repeatable = map[string]bool{"rules-file": true, "alertmanager-url": true, "alert-webhook-url": true, "remote-write-url": true}

// listFlag collects the values of a repeatable flag.
type listFlag struct{ values []string }

func (l *listFlag) String() string { return strings.Join(l.values, ",") }

func (l *listFlag) Set(v string) error {
	l.values = append(l.values, v)
	return nil
}

// withoutPasswords hides the password of every URL in a comma list, as url.URL.Redacted does.
func withoutPasswords(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}

// secretOptions are never shown by /api/v1/status/flags.
var secretOptions = map[string]bool{"api-key": true, "metrics-key": true}

// errHelp and errVersion ask main to print and exit 0.
var (
	errHelp    = errors.New("help")
	errVersion = errors.New("version")
)

// parseConfig reads flags over environment over defaults.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer, stderrIsTerminal bool) (config, error) {
	fs := flag.NewFlagSet("gemini-flow", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	values := make(map[string]*string, len(options))
	lists := map[string]*listFlag{}
	for _, o := range options {
		if repeatable[o.flag] {
			lists[o.flag] = &listFlag{}
			fs.Var(lists[o.flag], o.flag, fmt.Sprintf("%s (env %s)", o.help, o.env))
			continue
		}
		values[o.flag] = fs.String(o.flag, o.def, fmt.Sprintf("%s (env %s)", o.help, o.env))
	}
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintf(stderr, "Usage of gemini-flow (flags win over environment variables):\n")
			fs.PrintDefaults()
			return config{}, errHelp
		}
		return config{}, &usageError{err.Error()}
	}
	if *version {
		return config{}, errVersion
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	get := func(name string) string {
		for _, o := range options {
			if o.flag != name {
				continue
			}
			if set[name] && repeatable[name] {
				return lists[name].String()
			}
			if set[name] {
				return *values[name]
			}
			if v, ok := lookup(getenv, o.env); ok {
				return v
			}
			return o.def
		}
		panic("unknown option " + name)
	}

	var c config
	var err error
	bad := func(name, value string, why error) error {
		return &usageError{fmt.Sprintf("invalid value %q for --%s: %v", value, name, why)}
	}

	c.Addr = get("addr")
	if !set["addr"] && getenv("GEMINI_FLOW_ADDR") == "" && getenv("PORT") != "" {
		c.Addr = net.JoinHostPort("127.0.0.1", getenv("PORT"))
	}
	if err := checkAddr(c.Addr); err != nil {
		return c, bad("addr", c.Addr, err)
	}
	c.DataDir = get("data-dir")
	if err := checkWritableDir(c.DataDir); err != nil {
		return c, bad("data-dir", c.DataDir, err)
	}
	c.APIKeys = splitList(get("api-key"))
	c.MetricsKey = strings.TrimSpace(get("metrics-key"))
	c.CORSOrigins = splitList(get("cors-origins"))
	if c.RateLimit, err = nonNegativeInt(get("rate-limit")); err != nil {
		return c, bad("rate-limit", get("rate-limit"), err)
	}
	durations := []struct {
		name string
		dst  *time.Duration
		zero bool
	}{
		{"history-interval", &c.HistoryInterval, true},
		{"history-retention", &c.HistoryRetention, false},
		{"push-interval", &c.PushInterval, false},
		{"alert-resend-delay", &c.AlertResendDelay, false},
		{"alert-for-grace-period", &c.AlertGracePeriod, false},
		{"write-timeout", &c.WriteTimeout, false},
	}
	for _, d := range durations {
		v := get(d.name)
		if *d.dst, err = parseDuration(v, d.zero); err != nil {
			return c, bad(d.name, v, err)
		}
	}
	if c.HistoryInterval > 0 && c.HistoryInterval < time.Second {
		return c, bad("history-interval", get("history-interval"), errors.New("must be at least 1s"))
	}
	c.PushURL = get("push-url")
	if c.PushURL != "" && !strings.HasPrefix(c.PushURL, "http://") && !strings.HasPrefix(c.PushURL, "https://") {
		return c, bad("push-url", c.PushURL, errors.New("must be an http:// or https:// URL"))
	}
	if c.RemoteWrite, err = parseRemoteWrite(get, c.HistoryInterval); err != nil {
		return c, err
	}
	c.GeminiBaseURL = strings.TrimRight(get("gemini-base-url"), "/")
	c.GeminiModel = get("gemini-model")
	c.GeminiAPIKey = getenv("GEMINI_API_KEY")
	if c.GeminiAPIKey == "" {
		c.GeminiAPIKey = getenv("GOOGLE_AI_API_KEY")
	}
	c.LogFormat = get("log-format")
	if c.LogFormat == "" {
		c.LogFormat = "json"
		if stderrIsTerminal {
			c.LogFormat = "text"
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, bad("log-format", c.LogFormat, errors.New("must be text or json"))
	}
	c.LogLevel = strings.ToLower(get("log-level"))
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return c, bad("log-level", c.LogLevel, errors.New("must be debug, info, warn or error"))
	}
	c.AllowedHosts = splitList(get("allowed-hosts"))
	for _, l := range []struct {
		name string
		dst  *int
	}{{"max-conns", &c.MaxConns}, {"max-conns-per-ip", &c.MaxConnsPerIP}, {"ws-max-clients", &c.WSMaxClients}} {
		n, err := nonNegativeInt(get(l.name))
		if err == nil && n == 0 {
			err = errors.New("must be positive")
		}
		if err != nil {
			return c, bad(l.name, get(l.name), err)
		}
		*l.dst = n
	}
	if c.MemoryLimit, err = parseBytes(get("memory-limit")); err != nil {
		return c, bad("memory-limit", get("memory-limit"), err)
	}
	if c.QueryCacheBytes, err = parseBytes(get("query-cache-size")); err != nil {
		return c, bad("query-cache-size", get("query-cache-size"), err)
	}
	c.Limits = workflow.DefaultLimits()
	for _, l := range []struct {
		name string
		dst  *int
	}{
		{"max-nodes", &c.Limits.MaxNodes},
		{"max-edges", &c.Limits.MaxEdges},
		{"query-max-length", &c.QueryLimits.MaxLength},
		{"query-max-depth", &c.QueryLimits.MaxDepth},
		{"query-max-points", &c.QueryLimits.MaxPoints},
		{"query-max-match", &c.QueryLimits.MaxMatchers},
		{"query-max-concurrency", &c.QueryLimits.MaxConcurrency},
	} {
		n, err := nonNegativeInt(get(l.name))
		if err != nil || n == 0 {
			if err == nil {
				err = errors.New("must be positive")
			}
			return c, bad(l.name, get(l.name), err)
		}
		*l.dst = n
	}
	if err := c.parseAlerting(get); err != nil {
		return c, err
	}
	c.Flags = map[string]string{}
	for _, o := range options {
		if !secretOptions[o.flag] {
			c.Flags[o.flag] = withoutPasswords(get(o.flag))
		}
	}
	return c, nil
}

// parseAlerting reads the rule files and the notification URLs; a rule file that does not
// parse stops the start with its file and line.
func (c *config) parseAlerting(get func(string) string) error {
	files := splitList(get("rules-file"))
	switch {
	case len(files) == 1 && files[0] == "none":
	case len(files) == 0:
		c.RuleSources = []rules.Source{{File: dashboards.AlertsFile, Data: dashboards.Alerts()}}
	default:
		srcs, err := rules.ReadSources(files)
		if err != nil {
			return &usageError{fmt.Sprintf("invalid value %q for --rules-file: %v", get("rules-file"), err)}
		}
		c.RuleSources = srcs
	}
	if err := rules.Check(c.RuleSources); err != nil {
		return &usageError{"--rules-file: " + err.Error()}
	}
	for _, l := range []struct {
		name string
		dst  *[]string
	}{{"alertmanager-url", &c.AlertmanagerURLs}, {"alert-webhook-url", &c.WebhookURLs}} {
		*l.dst = splitList(get(l.name))
		for _, u := range *l.dst {
			if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				return &usageError{fmt.Sprintf("invalid value %q for --%s: must be an http:// or https:// URL", u, l.name)}
			}
		}
	}
	return nil
}

// remoteWriteConfig is where and how often the history's samples are remote written.
type remoteWriteConfig struct {
	URLs     []string
	Interval time.Duration // 0: the history interval
	Queue    int           // samples per receiver
}

// parseRemoteWrite reads the remote-write options; remote write reads the history, so it
// needs the history on.
func parseRemoteWrite(get func(string) string, historyInterval time.Duration) (remoteWriteConfig, error) {
	var rw remoteWriteConfig
	bad := func(name, value string, why string) error {
		return &usageError{fmt.Sprintf("invalid value %q for --%s: %s", value, name, why)}
	}
	rw.URLs = splitList(get("remote-write-url"))
	for _, u := range rw.URLs {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return rw, bad("remote-write-url", u, "must be an http:// or https:// URL")
		}
	}
	if len(rw.URLs) > 0 && historyInterval == 0 {
		return rw, bad("remote-write-url", get("remote-write-url"), "needs the history on (history interval > 0)")
	}
	if v := get("remote-write-interval"); v != "" {
		d, err := parseDuration(v, false)
		if err != nil {
			return rw, bad("remote-write-interval", v, err.Error())
		}
		rw.Interval = d
	}
	n, err := nonNegativeInt(get("remote-write-queue"))
	if err != nil || n == 0 {
		return rw, bad("remote-write-queue", get("remote-write-queue"), "must be a positive whole number")
	}
	rw.Queue = n
	return rw, nil
}

// lookup reads an environment variable, treating empty as unset.
func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func nonNegativeInt(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("not a whole number")
	}
	if n < 0 {
		return 0, errors.New("must not be negative")
	}
	return n, nil
}

// parseBytes reads a size such as 512MiB, 2GiB, 300MB or 1048576; 0 is none.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		factor int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	factor := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, factor = strings.TrimSuffix(s, u.suffix), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/factor {
		return 0, errors.New("not a size like 512MiB or 2GiB")
	}
	return n * factor, nil
}

func parseDuration(s string, zeroAllowed bool) (time.Duration, error) {
	if strings.TrimSpace(s) == "0" {
		if zeroAllowed {
			return 0, nil
		}
		return 0, errors.New("must be positive")
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("not a duration like 10s or 168h")
	}
	if d < 0 || (d == 0 && !zeroAllowed) {
		return 0, errors.New("must be positive")
	}
	return d, nil
}

func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("not host:port")
	}
	_ = host
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return errors.New("port must be 0 to 65535")
	}
	return nil
}

// checkWritableDir creates dir if needed and proves a file can be written in it.
func checkWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return errors.New("cannot create directory")
	}
	f, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return errors.New("directory is not writable")
	}
	name := f.Name()
	f.Close()
	return os.Remove(filepath.Clean(name))
}
