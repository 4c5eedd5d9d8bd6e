#!/usr/bin/env bash
# Executes notebooks/figures.ipynb headless (Go kernel GoNB) and checks that
# every cell ran and the figures were drawn. Installs what it needs first
# (scripts/install-deps.sh: Jupyter from Debian packages, GoNB pinned).
# Reads the committed results/ (run "lvslab reproduce" to regenerate them).
#
#   scripts/notebook.sh            # executes, keeps nothing
#   scripts/notebook.sh out.ipynb  # also keeps the executed notebook
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
export PATH="$(go env GOPATH)/bin:$PATH"

if ! ls results/*/results.csv >/dev/null 2>&1; then
	echo "notebook.sh: no results/*/results.csv; run: go run ./cmd/lvslab reproduce" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
# The kernel logs a lot on standard error: keep it, show it on failure.
if ! (cd notebooks && jupyter nbconvert --to notebook --execute figures.ipynb \
	--ExecutePreprocessor.kernel_name=gonb --ExecutePreprocessor.timeout=900 \
	--output-dir "$work" --output figures.ipynb) >"$work/nbconvert.log" 2>&1; then
	tail -n 60 "$work/nbconvert.log" >&2
	echo "notebook.sh: executing notebooks/figures.ipynb failed (log above)" >&2
	exit 1
fi

# nbconvert stops at a cell that raises an error; also make sure the cells
# produced what they should (GoNB reports some failures as plain output).
/usr/bin/python3 - "$work/figures.ipynb" <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
images, errors, text = 0, [], ""
for i, cell in enumerate(nb["cells"]):
    if cell["cell_type"] != "code":
        continue
    if cell.get("execution_count") is None:
        errors.append(f"cell {i} did not run")
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            errors.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
        data = out.get("data", {})
        if "image/png" in data:
            images += 1
        text += "".join(out.get("text", "")) + "".join(data.get("text/plain", ""))
        html = "".join(data.get("text/html", ""))
        if "error" in html.lower() and "panic" in html.lower():
            errors.append(f"cell {i}: {html[:300]}")
if "throughput figures drawn" not in text or "done" not in text:
    errors.append("the figure cells did not finish")
if images < 2:
    errors.append(f"only {images} images drawn")
if errors:
    sys.exit("notebook.sh: " + "; ".join(errors))
print(f"notebook.sh: notebooks/figures.ipynb ran, {images} figures")
PY
echo "notebook.sh: $(( $(date +%s) - start )) s to execute"
if [ $# -ge 1 ]; then
	case "$1" in /*) dest="$1" ;; *) dest="$root/$1" ;; esac
	cp "$work/figures.ipynb" "$dest"
fi
