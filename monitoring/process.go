package monitoring

import "time"

// procStats is one reading of the process families; a false ok flag means the system could
// not be read, and those families then carry HELP and TYPE only.
type procStats struct {
	cpuOK              bool
	cpuUser, cpuSystem float64
	memOK              bool
	resident, virtual  float64
	fdsOK              bool
	openFDs, maxFDs    float64
	start              float64
}

// value returns the sample of a process family and whether there is one.
func (p *procStats) value(fam int) (float64, bool) {
	switch fam {
	case famProcCPUUser:
		return p.cpuUser, p.cpuOK
	case famProcCPUSystem:
		return p.cpuSystem, p.cpuOK
	case famProcCPU:
		return p.cpuUser + p.cpuSystem, p.cpuOK
	case famProcStartTime:
		return p.start, true
	case famProcResident:
		return p.resident, p.memOK
	case famProcVirtual:
		return p.virtual, p.memOK
	case famProcOpenFDs:
		return p.openFDs, p.fdsOK
	case famProcMaxFDs:
		return p.maxFDs, p.fdsOK
	}
	panic("monitoring: not a process family: " + catalogue[fam].Name)
}

var initTime = time.Now()
