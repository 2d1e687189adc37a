package monitoring

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// read fills p from getrusage, /proc/self/stat, /proc/self/fd and RLIMIT_NOFILE.
func (p *procStats) read() {
	p.start = processStart()
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		p.cpuOK = true
		p.cpuUser = timevalSeconds(ru.Utime)
		p.cpuSystem = timevalSeconds(ru.Stime)
	}
	if f, ok := statFields(); ok {
		vsize, err1 := strconv.ParseUint(string(f[23-3]), 10, 64)
		rss, err2 := strconv.ParseUint(string(f[24-3]), 10, 64)
		if err1 == nil && err2 == nil {
			p.memOK = true
			p.virtual = float64(vsize)
			p.resident = float64(rss) * float64(os.Getpagesize())
		}
	}
	var lim syscall.Rlimit
	if d, err := os.Open("/proc/self/fd"); err == nil {
		names, err := d.Readdirnames(-1)
		d.Close()
		if err == nil && syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
			p.fdsOK = true
			p.openFDs = float64(len(names))
			p.maxFDs = float64(lim.Cur)
		}
	}
}

func timevalSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// statFields returns the fields of /proc/self/stat after the command name, so field n of
// proc(5) is at index n-3.
func statFields() ([][]byte, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, false
	}
	f := bytes.Fields(b[i+1:])
	return f, len(f) >= 24-3+1
}

// userHZ is the unit of /proc/*/stat times; 100 on every Linux architecture Go supports.
const userHZ = 100

// processStart is read once: the kernel's start time of the process, or failing that the
// moment this package started.
var processStart = sync.OnceValue(func() float64 {
	fallback := float64(initTime.UnixMilli()) / 1e3
	f, ok := statFields()
	if !ok {
		return fallback
	}
	ticks, err := strconv.ParseUint(string(f[22-3]), 10, 64)
	if err != nil {
		return fallback
	}
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return fallback
	}
	for line := range bytes.Lines(stat) {
		if rest, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			btime, err := strconv.ParseUint(string(bytes.TrimSpace(rest)), 10, 64)
			if err != nil {
				return fallback
			}
			return float64(btime) + float64(ticks)/userHZ
		}
	}
	return fallback
})
