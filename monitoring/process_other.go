//go:build !linux

package monitoring

// read knows only the start time outside Linux.
func (p *procStats) read() { p.start = float64(initTime.UnixMilli()) / 1e3 }
