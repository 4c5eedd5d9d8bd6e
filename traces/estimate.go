package traces

import (
	"math"
	"unsafe"
)

// Memory costs of workloads, so that a caller can refuse one that cannot
// fit before loading or generating it. Names count with their string
// header: a synthetic target path ("/d42/f000042.html") or client address
// ("10.0.19.136") rounds up to 24 bytes of text.
const (
	// RequestBytes is the memory of one Workload request.
	RequestBytes = int64(unsafe.Sizeof(Request{}))
	objectBytes  = int64(unsafe.Sizeof(Object{})) + 24
	clientBytes  = int64(unsafe.Sizeof("")) + 16
)

// WorkloadBytes estimates the memory of a Workload of requests requests,
// objects distinct objects and clients clients: RequestBytes (24) per
// request, and each object's and client's name, about 48 and 32 bytes.
func WorkloadBytes(requests, objects, clients int) int64 {
	return satSum(
		satMul(int64(max(requests, 0)), RequestBytes),
		satMul(int64(max(objects, 0)), objectBytes),
		satMul(int64(max(clients, 0)), clientBytes))
}

// Per-target tables of the generator: the drawn and the rescaled sizes
// (float64, int64), the Zipf sampler (12 bytes a rank, models.MaxZipfN)
// and, with Cover, the request counts and their working copy (int32) and,
// for targets never drawn (at most all of them), a list (an int32, grown
// by appending) and a 16-byte replacement, placed in up to two passes.
const (
	synthTargetBytes = 8 + 8 + 12
	synthCoverBytes  = 4 + 4 + 8 + 2*16
)

// GeneratorBytes estimates the memory Synthesize takes for model m: the
// per-target tables (about 28 bytes a target, 76 with Cover) and the
// locality window. It does not grow with Requests: Synthesize streams.
func (m SynthModel) GeneratorBytes() int64 {
	m = m.Resolved()
	per := int64(synthTargetBytes)
	if m.Cover {
		per += synthCoverBytes
	}
	return satSum(satMul(int64(max(m.Targets, 0)), per), satMul(int64(max(m.LocalityWindow, 0)), 4))
}

// WorkloadBytes estimates the peak memory SynthWorkload(m) takes: the
// generator (GeneratorBytes), the Workload of its static requests (about
// 24 bytes a request, allocated at once), every target and client named
// at most once, and the generator's target and client index tables (4
// bytes each).
func (m SynthModel) WorkloadBytes() int64 {
	m = m.Resolved()
	static := int64(float64(max(m.Requests, 0))*(1-m.DynamicShare)*1.01) + 16
	if m.DynamicShare < 0 || m.DynamicShare >= 1 || math.IsNaN(m.DynamicShare) {
		static = int64(max(m.Requests, 0))
	}
	targets, clients := int64(max(m.Targets, 0)), int64(max(m.Clients, 0))
	return satSum(
		m.GeneratorBytes(),
		satMul(static, RequestBytes),
		satMul(targets, objectBytes+4),
		satMul(min(clients, static), clientBytes),
		satMul(clients, 4))
}

// satMul and satSum are a*b and the sum of xs for values >= 0, saturating
// at math.MaxInt64 instead of overflowing.
func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

func satSum(xs ...int64) int64 {
	var s int64
	for _, x := range xs {
		if s > math.MaxInt64-x {
			return math.MaxInt64
		}
		s += x
	}
	return s
}
