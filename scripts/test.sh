#!/usr/bin/env bash
# The project's test command (README "Set-up"): installs what the tests
# need, then runs gofmt, go vet, staticcheck, the race-enabled test suite,
# a short fuzz smoke of every fuzz target, executes the Go-kernel notebook
# headless, and, as root, checks that no live (network-namespace) test
# skips. CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.7.0   # staticcheck 2026.1
# The fuzz budget is a count of executions, not a duration: a duration
# races the fuzzing coordinator's deadline against in-flight workers and,
# on a loaded machine, fails with a bare "context deadline exceeded" that
# names no input (golang/go#51484). A count has no deadline to race.
FUZZTIME=${FUZZTIME:-10000x}

export PATH="$(go env GOPATH)/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

step "tools"
if ! staticcheck -version 2>/dev/null | grep -q "($STATICCHECK_VERSION)"; then
	GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
if [ -x scripts/install-deps.sh ]; then scripts/install-deps.sh; fi

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
staticcheck ./...

step "fuzz smoke ($FUZZTIME per target)"
fuzz() { go test -run='^$' -fuzz="^$2\$" -fuzztime="$FUZZTIME" "$1" 2>&1; }
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
	pkg=./$(dirname "${file#./}")
	for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
		echo "$pkg $target"
		if ! out=$(fuzz "$pkg" "$target"); then
			# With a duration budget (FUZZTIME=30s) the coordinator's
			# shutdown race can still fail a run that found nothing; such
			# a run is retried once. Anything that wrote an input fails.
			if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
				echo "  (deadline at the end of the budget, no failing input: retrying once)"
				if out=$(fuzz "$pkg" "$target"); then continue; fi
			fi
			echo "$out" | tail -n 40
			echo "fuzz smoke: $pkg $target failed"
			grep -o 'Failing input written to [^ ]*' <<<"$out" || true
			exit 1
		fi
	done
done

step "notebook"
scripts/notebook.sh

# Live tests (TestNetns*, TestLive*) build network namespaces and need root,
# which CI has: as root, one of them skipping fails the run (and
# testbedtest.Require fails rather than skips them as root). They run here
# once, with the race detector, and are left out of the last step.
# report_failures prints, for a `go test -json` stream, the output of every
# failed test and of every package that failed outside a test (a panic, a
# timeout, a build error), so a CI log shows what failed and not merely the
# last tests that ran.
report_failures() {
	local json=$1 t p
	grep -F '"Action":"fail"' "$json" | grep -o '"Test":"[^"]*"' | sort -u | while read -r t; do
		printf '\n--- failed: %s\n' "$t"
		grep -F "$t," "$json" | grep -F '"Action":"output"' | tail -n 120 |
			sed -e 's/.*"Output":"//' -e 's/"}$//' -e 's/\\n$//' -e 's/\\t/\t/g' -e 's/\\"/"/g'
	done
	grep -F '"Action":"fail"' "$json" | grep -vF '"Test":' | grep -o '"Package":"[^"]*"' | sort -u | while read -r p; do
		printf '\n--- failed package: %s (output outside any test)\n' "$p"
		grep -F "$p," "$json" | grep -F '"Action":"output"' | grep -vF '"Test":' | tail -n 60 |
			sed -e 's/.*"Output":"//' -e 's/"}$//' -e 's/\\n$//' -e 's/\\t/\t/g' -e 's/\\"/"/g'
	done
	# Lines that are not JSON at all (a build failure) are printed as they are.
	grep -v '^{' "$json" | tail -n 40 || true
}

live_skip=
if [ "$(id -u)" -eq 0 ]; then
	step "live tests as root, with -race (none may skip)"
	live=$(mktemp)
	trap 'rm -f "$live"' EXIT
	if ! go test -race -count=1 -json -run '^(TestNetns|TestLive)' ./... >"$live"; then
		report_failures "$live"
		echo "live tests failed"; exit 1
	fi
	skipped=$(grep -E '"Action":"skip".*"Test":"(TestNetns|TestLive)' "$live" | grep -o '"Test":"[^"]*"' || true)
	if [ -n "$skipped" ]; then
		echo "live tests skipped while running as root:"; echo "$skipped"; exit 1
	fi
	echo "$(grep -cE '"Action":"pass".*"Test":"(TestNetns|TestLive)[^/"]*"' "$live") live tests passed, none skipped"
	live_skip='^(TestNetns|TestLive)'
fi

# Allocation counts and the address-space-capped bounds checks hold only
# without the race detector (it allocates, and it cannot run in a capped
# address space): they run here, once, without it.
step "allocation and memory-bound tests (no race detector)"
go test -count=1 -run '^(TestBounds|TestScheduleAllocs|TestSwapPoolsAllocs|TestTablesBounded|TestNoAllocs|TestForwardAllocs|TestSteadyStateAllocs|TestParse)$' ./...

step "go test -race"
go test -race -count=1 ${live_skip:+-skip "$live_skip"} ./...
