package workbench

import (
	"io/fs"
	"testing"
)

// The memory available is the smaller of the machine's and its cgroup's;
// the default limit is half of it.
func TestMachineMemory(t *testing.T) {
	meminfo := "MemTotal:       24684084 kB\nMemFree:        23855796 kB\n"
	tests := []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"meminfo", map[string]string{"/proc/meminfo": meminfo}, 24684084 << 10},
		{"cgroup v2 below", map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory.max": "4294967296\n"}, 4 << 30},
		{"cgroup v2 unlimited", map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory.max": "max\n"}, 24684084 << 10},
		{"cgroup v1 unlimited", map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 24684084 << 10},
		{"cgroup only", map[string]string{"/sys/fs/cgroup/memory.max": "1073741824"}, 1 << 30},
		{"nothing", nil, 0},
		{"garbage", map[string]string{"/proc/meminfo": "MemTotal: lots\n"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			read := func(p string) ([]byte, error) {
				if s, ok := tc.files[p]; ok {
					return []byte(s), nil
				}
				return nil, fs.ErrNotExist
			}
			if got := MachineMemory(read); got != tc.want {
				t.Errorf("MachineMemory = %d, want %d", got, tc.want)
			}
		})
	}
}
