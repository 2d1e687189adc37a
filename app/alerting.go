package app

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/prometheus/prometheus/promql"

	"github.com/gemini-flow/gemini-flow/notify"
	"github.com/gemini-flow/gemini-flow/rules"
	"github.com/gemini-flow/gemini-flow/rulesapi"
	"github.com/gemini-flow/gemini-flow/server"
)

// openRules builds the rule manager and its notifier when there are rules and a history
// for them to read; with rules but no history it warns that evaluation is off.
func (a *App) openRules(engine *promql.Engine) error {
	if len(a.cfg.RuleSources) == 0 {
		return nil
	}
	if a.History == nil {
		a.log.Warn("rule evaluation is off: it reads the metric history, which is off")
		return nil
	}
	url := "http://" + a.Addr
	a.notifier = notify.New(notify.Options{AlertmanagerURLs: a.cfg.AlertmanagerURLs, WebhookURLs: a.cfg.WebhookURLs,
		ExternalURL: url, Metrics: a.Metrics, Logger: a.log})
	m, err := rules.New(rules.Options{Sources: a.cfg.RuleSources, Interval: a.cfg.HistoryInterval, Engine: engine,
		Queryable: a.History, Appender: a.History, Notifier: a.notifier, ExternalURL: url, Metrics: a.Metrics, Logger: a.log,
		ResendDelay: a.cfg.AlertResendDelay, ForGracePeriod: a.cfg.AlertGracePeriod})
	if err != nil {
		return fmt.Errorf("load rules: %w", err)
	}
	a.Rules = m
	return nil
}

// runRules evaluates the rules and delivers their notifications until ctx ends; the
// returned channel closes once both have stopped.
func (a *App) runRules(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if a.Rules == nil {
		close(done)
		return done
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.Rules.Run(ctx) }()
	go func() { defer wg.Done(); a.notifier.Run(ctx) }()
	go func() { wg.Wait(); close(done) }()
	return done
}

// rulesRoutes are /api/v1/rules and /api/v1/alerts, GET and form POST as the query API.
func rulesRoutes(api *rulesapi.API) []server.Route {
	return []server.Route{
		{Method: http.MethodGet, Path: "/api/v1/rules", Handler: api.Rules},
		{Method: http.MethodPost, Path: "/api/v1/rules", Handler: api.Rules},
		{Method: http.MethodGet, Path: "/api/v1/alerts", Handler: api.Alerts},
		{Method: http.MethodPost, Path: "/api/v1/alerts", Handler: api.Alerts},
	}
}
