// Package gemini is the client of Google's Generative Language API: it turns a flow into a
// prompt, calls generateContent with a timeout, and reports each call's outcome.
package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gemini-flow/gemini-flow/monitoring"
)

// Defaults used when a Config field is zero.
const (
	DefaultBaseURL = "https://generativelanguage.googleapis.com"
	DefaultModel   = "gemini-2.0-flash"
	DefaultTimeout = 30 * time.Second
)

// Outcomes reported to the Observer.
const (
	OutcomeSuccess     = monitoring.OutcomeSuccess
	OutcomeError       = monitoring.OutcomeError
	OutcomeTimeout     = monitoring.OutcomeTimeout
	OutcomeUnavailable = monitoring.OutcomeUnavailable
)

// maxResponseBytes bounds what is read from the upstream, so a broken upstream cannot exhaust memory.
const maxResponseBytes = 4 << 20

// ErrNoAPIKey is returned by Execute when no API key is configured.
var ErrNoAPIKey = errors.New("gemini: no API key configured")

// Observer receives the outcome and duration of every Execute call; *monitoring.Registry is one.
type Observer interface {
	ObserveGemini(outcome string, d time.Duration)
}

// Config configures a Client; zero fields take the package defaults.
type Config struct {
	BaseURL string        // scheme and host of the API; "" -> DefaultBaseURL
	Model   string        // model name; "" -> DefaultModel
	APIKey  string        // sent only in the x-goog-api-key header; "" -> every Execute fails with ErrNoAPIKey
	Timeout time.Duration // whole-call limit; 0 -> DefaultTimeout
	Metrics Observer      // may be nil
}

// Client calls generateContent. It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint string
	http     *http.Client
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	endpoint := strings.TrimRight(cfg.BaseURL, "/") + "/v1beta/models/" + url.PathEscape(cfg.Model) + ":generateContent"
	return &Client{cfg: cfg, endpoint: endpoint, http: &http.Client{}}
}

// Result is the answer of one Execute call.
type Result struct {
	Text    string
	Model   string
	Latency time.Duration
}

// Status describes the client's configuration without revealing the key.
type Status struct {
	HasAPIKey bool
	Model     string
}

// Status reports whether a key is configured and which model is used.
func (c *Client) Status() Status {
	return Status{HasAPIKey: c.cfg.APIKey != "", Model: c.cfg.Model}
}

// UpstreamError is a failed call: the upstream's HTTP status (0 when no answer came) and a
// message that never contains the API key.
type UpstreamError struct {
	Status  int
	Message string
	Timeout bool // the call hit the timeout
}

// Error describes the failure.
func (e *UpstreamError) Error() string {
	if e.Status == 0 {
		return "gemini upstream: " + e.Message
	}
	return fmt.Sprintf("gemini upstream: status %d: %s", e.Status, e.Message)
}

type part struct {
	Text string `json:"text"`
}

type content struct {
	Parts []part `json:"parts"`
}

type generateRequest struct {
	Contents []content `json:"contents"`
}

type generateResponse struct {
	Candidates []struct {
		Content content `json:"content"`
	} `json:"candidates"`
}

type upstreamErrorBody struct {
	Error struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Execute sends a flow's prompt (see Prompt) to the model and returns its text.
func (c *Client) Execute(ctx context.Context, prompt string) (Result, error) {
	start := time.Now()
	res, outcome, err := c.execute(ctx, prompt)
	d := time.Since(start)
	if c.cfg.Metrics != nil {
		c.cfg.Metrics.ObserveGemini(outcome, d)
	}
	res.Latency = d
	return res, err
}

func (c *Client) execute(ctx context.Context, prompt string) (Result, string, error) {
	if c.cfg.APIKey == "" {
		return Result{}, OutcomeUnavailable, ErrNoAPIKey
	}
	body, err := json.Marshal(generateRequest{Contents: []content{{Parts: []part{{Text: prompt}}}}})
	if err != nil {
		return Result{}, OutcomeError, fmt.Errorf("gemini: encode request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return Result{}, OutcomeError, &UpstreamError{Message: "invalid upstream address"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-goog-api-key", c.cfg.APIKey)

	resp, err := c.http.Do(req)
	if err != nil {
		outcome, ferr := c.failure(ctx, err)
		return Result{}, outcome, ferr
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		outcome, ferr := c.failure(ctx, err)
		return Result{}, outcome, ferr
	}
	if resp.StatusCode/100 != 2 {
		var eb upstreamErrorBody
		msg := http.StatusText(resp.StatusCode)
		if json.Unmarshal(raw, &eb) == nil && eb.Error.Message != "" {
			msg = eb.Error.Message
		}
		return Result{}, OutcomeError, &UpstreamError{Status: resp.StatusCode, Message: c.redact(msg)}
	}
	var gr generateResponse
	if err := json.Unmarshal(raw, &gr); err != nil {
		return Result{}, OutcomeError, &UpstreamError{Status: resp.StatusCode, Message: "unreadable response"}
	}
	if len(gr.Candidates) == 0 {
		return Result{}, OutcomeError, &UpstreamError{Status: resp.StatusCode, Message: "response has no candidates"}
	}
	var text strings.Builder
	for _, p := range gr.Candidates[0].Content.Parts {
		text.WriteString(p.Text)
	}
	return Result{Text: text.String(), Model: c.cfg.Model}, OutcomeSuccess, nil
}

// failure classifies a transport error; its text is dropped because a *url.Error repeats the
// whole request address.
func (c *Client) failure(ctx context.Context, err error) (string, error) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return OutcomeTimeout, &UpstreamError{Message: "timed out after " + c.cfg.Timeout.String(), Timeout: true}
	}
	if errors.Is(err, context.Canceled) {
		return OutcomeError, &UpstreamError{Message: "request canceled"}
	}
	return OutcomeError, &UpstreamError{Message: "upstream unreachable"}
}

// redact removes the key should the upstream ever echo it back.
func (c *Client) redact(s string) string {
	if c.cfg.APIKey == "" {
		return s
	}
	return strings.ReplaceAll(s, c.cfg.APIKey, "[redacted]")
}
