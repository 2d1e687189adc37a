package history

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind: Run, Close and every
// querier must stop what they start. fasthttp, which serves the query API in the compliance
// test, keeps its process-wide date updater and a worker-pool cleaner that notices the pool
// has stopped only when its 10 s sleep ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}
