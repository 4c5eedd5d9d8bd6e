package experiment

import (
	"strings"
	"testing"
)

// TestKeepDynamic checks keep_dynamic: the file key and the flag, the
// workloads that keep their dynamic requests (and say so in their name),
// and CheckLive refusing it.
func TestKeepDynamic(t *testing.T) {
	e, err := Parse("exp.yaml", strings.NewReader("alg: wrr\nkeep_dynamic: true\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !e.KeepDynamic {
		t.Fatal("keep_dynamic: true not read")
	}
	if err := e.CheckLive(); err == nil || !strings.HasPrefix(err.Error(), "exp.yaml:2: keep_dynamic: only the simulator") {
		t.Errorf("CheckLive = %v", err)
	}
	f := New()
	f.SetKeepDynamic(true)
	if err := f.CheckLive(); err == nil || !strings.HasPrefix(err.Error(), "--keep-dynamic: only the simulator") {
		t.Errorf("--keep-dynamic: CheckLive = %v", err)
	}
	if _, err := Parse("exp.yaml", strings.NewReader("keep_dynamic: maybe\n"), ""); err == nil || !strings.Contains(err.Error(), `line 1: keep_dynamic: "maybe"`) {
		t.Errorf("keep_dynamic: maybe: %v", err)
	}

	for _, spec := range []string{"synth:small:5000", "default"} {
		static, err := LoadWorkload(spec, "", LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dyn, err := LoadWorkload(spec, "", LoadOptions{KeepDynamic: true})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range dyn.Requests {
			if r.Dynamic {
				n++
			}
		}
		if n == 0 || len(dyn.Requests) != len(static.Requests)+n || static.Dropped["dynamic"] != n {
			t.Errorf("%s: %d dynamic requests kept of %d (static workload: %d requests, %d dynamic dropped)",
				spec, n, len(dyn.Requests), len(static.Requests), static.Dropped["dynamic"])
		}
		if dyn.Name != static.Name+DynamicSuffix {
			t.Errorf("%s: name %q, want %q", spec, dyn.Name, static.Name+DynamicSuffix)
		}
	}
}
