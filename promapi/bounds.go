package promapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// Limits bound what one request may ask of the binary; zero fields take the defaults.
type Limits struct {
	MaxLength      int // bytes of PromQL text (--query-max-length)
	MaxDepth       int // nesting: brackets plus binary operators (--query-max-depth)
	MaxPoints      int // evaluation points of a query: outer steps plus every subquery's (--query-max-points)
	MaxMatchers    int // match[] parameters of one request (--query-max-match)
	MaxConcurrency int // queries evaluated at once (--query-max-concurrency)
	MaxQueued      int // queries waiting for a turn; beyond them a query answers 503
}

// DefaultLimits are the bounds of a small host.
var DefaultLimits = Limits{
	MaxLength:      32 << 10,
	MaxDepth:       256,
	MaxPoints:      1_000_000,
	MaxMatchers:    100,
	MaxConcurrency: 4,
	MaxQueued:      64,
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	for _, f := range []struct {
		v   *int
		def int
	}{
		{&l.MaxLength, DefaultLimits.MaxLength},
		{&l.MaxDepth, DefaultLimits.MaxDepth},
		{&l.MaxPoints, DefaultLimits.MaxPoints},
		{&l.MaxMatchers, DefaultLimits.MaxMatchers},
		{&l.MaxConcurrency, DefaultLimits.MaxConcurrency},
		{&l.MaxQueued, DefaultLimits.MaxQueued},
	} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	return l
}

// boundedParser refuses, before parsing, PromQL text longer or deeper than the limits:
// parsing costs time quadratic in nesting and runs outside any timeout. The engine parses
// with it, so a query is parsed once and bounded before it is.
type boundedParser struct {
	parser.Parser
	limits Limits
}

// ParseExpr parses qs once its length and nesting are within the limits.
func (p boundedParser) ParseExpr(qs string) (parser.Expr, error) {
	if err := checkText(qs, p.limits); err != nil {
		return nil, err
	}
	return p.Parser.ParseExpr(qs)
}

// checkText bounds a query's length and nesting, in time linear in its length.
func checkText(qs string, l Limits) error {
	if len(qs) > l.MaxLength {
		return fmt.Errorf("query is %d bytes long, over the limit of %d (--query-max-length)", len(qs), l.MaxLength)
	}
	if d := nesting(qs); d > l.MaxDepth {
		return fmt.Errorf("query nests %d deep (brackets and binary operators), over the limit of %d (--query-max-depth)", d, l.MaxDepth)
	}
	return nil
}

// nesting is an upper bound of the depth of qs's syntax tree: the deepest bracket plus the
// number of binary operators outside label matchers (a chain a+b+c nests one level per
// operator). It reads the parser's own tokens.
func nesting(qs string) int {
	lex := parser.Lex(qs)
	var it parser.Item
	depth, deepest, braces, operators := 0, 0, 0, 0
	for {
		lex.NextItem(&it)
		switch {
		case it.Typ == parser.EOF || it.Typ == parser.ERROR:
			return deepest + operators
		case it.Typ == parser.LEFT_PAREN || it.Typ == parser.LEFT_BRACKET:
			depth++
			deepest = max(deepest, depth)
		case it.Typ == parser.RIGHT_PAREN || it.Typ == parser.RIGHT_BRACKET:
			depth--
		case it.Typ == parser.LEFT_BRACE:
			braces++
		case it.Typ == parser.RIGHT_BRACE:
			braces--
		case braces == 0 && it.Typ.IsOperator():
			operators++
		}
	}
}

// checkPoints bounds the evaluation points of a parsed statement before it runs: the outer
// steps plus, for each subquery, the steps it is evaluated at over everything its enclosing
// expressions ask of it. The engine reserves memory per step before any samples limit
// applies, so this is what keeps sum_over_time(x[7d:1ms]) from taking the heap.
func checkPoints(s *parser.EvalStmt, l Limits) error {
	total := int64(1)
	if s.Interval > 0 {
		total += int64(s.End.Sub(s.Start) / s.Interval)
	}
	outer := s.End.Sub(s.Start)
	var err error
	parser.Inspect(s.Expr, func(node parser.Node, path []parser.Node) error {
		sq, ok := node.(*parser.SubqueryExpr)
		if !ok {
			return nil
		}
		step := sq.Step
		if step <= 0 {
			step = noStepSubqueryInterval
		}
		if sq.Range/step > maxPointsPerSeries {
			err = fmt.Errorf("subquery %s asks for %d steps, over the limit of 11,000 points per timeseries; try increasing its step", sq.String(), sq.Range/step)
			return err
		}
		// The subquery runs over the outer range widened by its own and every enclosing range.
		span := outer + sq.Range
		for _, n := range path {
			if e, ok := n.(*parser.SubqueryExpr); ok {
				span += e.Range
			}
		}
		total += int64(span/step) + 1
		if total > int64(l.MaxPoints) {
			err = fmt.Errorf("query would be evaluated at more than %d points (outer steps and every subquery's steps), over the limit of --query-max-points; try a larger step", l.MaxPoints)
			return err
		}
		return nil
	})
	return err
}

// gate lets a bounded number of queries run at once and a bounded number wait for a turn.
type gate struct {
	slots   chan struct{}
	waiting chan struct{}
}

func newGate(running, queued int) *gate {
	return &gate{slots: make(chan struct{}, running), waiting: make(chan struct{}, running+queued)}
}

// errQueueFull answers a query that finds every slot taken and the queue full.
var errQueueFull = &apiError{typ: errUnavailable, err: errors.New("too many queries running and waiting; try again later (--query-max-concurrency)")}

// enter waits for a turn until ctx ends; the returned func gives the turn back.
func (g *gate) enter(ctx context.Context) (func(), *apiError) {
	select {
	case g.waiting <- struct{}{}:
	default:
		return nil, errQueueFull
	}
	leave := func() { <-g.slots; <-g.waiting }
	select {
	case g.slots <- struct{}{}:
		return leave, nil
	default:
	}
	select {
	case g.slots <- struct{}{}:
		return leave, nil
	case <-ctx.Done():
		<-g.waiting
		return nil, timedOut(ctx.Err(), "query queue")
	}
}

// timedOut maps a context's end during env as the engine words it.
func timedOut(err error, env string) *apiError {
	if errors.Is(err, context.DeadlineExceeded) {
		return execError(promql.ErrQueryTimeout(env))
	}
	return execError(promql.ErrQueryCanceled(env))
}
