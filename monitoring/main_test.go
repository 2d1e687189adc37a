package monitoring_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Push loops must end with their context.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
