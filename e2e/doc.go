// Package e2e holds black-box tests of the gemini-flow binary against the real monitoring
// tools it is meant to work with: Prometheus and promtool, VictoriaMetrics and vmagent.
//
// The tests build the binary once, start it and the tools on 127.0.0.1 with free ports and
// temporary data directories, drive known traffic, and compare what each side reports. A test
// needing an external tool skips when the tool is missing, unless the environment variable CI
// is set, in which case a missing tool is a failure.
package e2e
