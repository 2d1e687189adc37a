//go:build tools

// Package main pins dependencies that packages of this module import.
package main

import (
	_ "github.com/VictoriaMetrics/metrics"
	_ "github.com/chromedp/chromedp"
	_ "github.com/fasthttp/router"
	_ "github.com/fasthttp/websocket"
	_ "github.com/google/uuid"
	_ "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	_ "github.com/prometheus/prometheus/model/labels"
	_ "github.com/prometheus/prometheus/model/textparse"
	_ "github.com/prometheus/prometheus/promql"
	_ "github.com/prometheus/prometheus/promql/parser"
	_ "github.com/prometheus/prometheus/storage"
	_ "github.com/prometheus/prometheus/tsdb/chunkenc"
	_ "github.com/prometheus/prometheus/util/jsonutil"
	_ "github.com/valyala/fasthttp"
	_ "go.etcd.io/bbolt"
	_ "go.uber.org/goleak"
	_ "golang.org/x/time/rate"
)
