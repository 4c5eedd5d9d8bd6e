#!/usr/bin/env bash
# bench-l7.sh: the thesis's Table 6.1 on a testbed. lvslab's layer-7 switch
# (each engine) against HAProxy in HTTP mode and nginx as a reverse proxy,
# one at a time in the same director namespace on the same VIP, in front of
# two real servers running plain nginx on static 1 KB and 10 KB files (100
# distinct paths each), driven by wrk from a client namespace:
# Connection: close for connections/s, keep-alive for requests/s.
#
# Prints CSV on standard output, the median of the rounds:
#   name,size,mode,conns_per_s,reqs_per_s,p99_ms
# (size in bytes; mode close or keepalive; in keepalive mode conns_per_s is
# empty), then a summary: ratios against HAProxy and the director's CPU per
# 1,000 requests (user + system time of its processes, from /proc). Progress
# goes to standard error; every round's numbers are kept in
# $OUT/rounds.csv.
#
# Needs root. Installs nginx, haproxy, wrk and curl with apt when missing,
# builds lvslab, makes the testbed with "lvslab testbed up", and removes
# everything it made on exit, Ctrl-C or failure. Traffic stays inside the
# testbed's namespaces.
#
# Environment:
#   ROUNDS=3          rounds; switches alternate within a round (median)
#   DURATION=10s      each wrk run
#   SWITCHES="lvslab-epoll lvslab-goroutine haproxy nginx"
#   SIZES="1024 10240"  MODES="close keepalive"
#   THREADS=2 CONNS=32  wrk -t and -c
#   L7_FLAGS="--loops 1"  extra flags for lvslab director
#   QUICK=1           a smoke run: 1 round of 3 s
#   OUT=dir           where configs, logs and rounds.csv go (default: a new
#                     directory under /tmp, kept)
# The defaults take about 9 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "bench-l7.sh: needs root (network namespaces)" >&2
	exit 1
fi

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
if [ "${QUICK:-0}" = 1 ]; then
	ROUNDS=1
	DURATION=3s
fi
SWITCHES=${SWITCHES:-lvslab-epoll lvslab-goroutine haproxy nginx}
SIZES=${SIZES:-1024 10240}
MODES=${MODES:-close keepalive}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
CORES=$(nproc)
OUT=${OUT:-$(mktemp -d /tmp/bench-l7.XXXXXX)}
mkdir -p "$OUT"
chmod 755 "$OUT" # nginx workers run as nobody

log() { printf 'bench-l7: %s\n' "$*" >&2; }

# --- everything started is recorded here and removed by cleanup ----------
PIDS=()
RUNDIR="$OUT/testbed"
LVSLAB="$OUT/lvslab"
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	if [ -f "$RUNDIR/state.json" ] || [ -d "$RUNDIR" ]; then
		"$LVSLAB" testbed down --run-dir "$RUNDIR" >/dev/null 2>&1 || log "testbed down --run-dir $RUNDIR failed: remove it by hand"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools -----------------------------------------------------------------
need=()
for cmd in nginx:nginx haproxy:haproxy wrk:wrk curl:curl; do
	command -v "${cmd%%:*}" >/dev/null 2>&1 || need+=("${cmd#*:}")
done
if ((${#need[@]})); then
	log "apt-get install ${need[*]}"
	apt-get update -qq
	# A policy-rc.d that answers 101 keeps the packages from starting their
	# own services in the root namespace.
	policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod +x "$policy"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	[ -z "$policy" ] || rm -f "$policy"
fi
NGINX=$(command -v nginx)
HAPROXY=$(command -v haproxy)

log "building lvslab"
go build -o "$LVSLAB" ./cmd/lvslab

# --- testbed ---------------------------------------------------------------
PREFIX=lt$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
cat >"$OUT/topology.yaml" <<EOF
name: bench-l7
mode: l7
clients: 1
servers: 2
prefix: $PREFIX
sysctls:
  clients: {net.ipv4.ip_local_port_range: "1024 65000", net.ipv4.tcp_tw_reuse: "1"}
  director: {net.core.somaxconn: "4096", net.ipv4.tcp_max_syn_backlog: "4096"}
  servers: {net.core.somaxconn: "4096"}
EOF
log "testbed up ($PREFIX)"
"$LVSLAB" testbed up -f "$OUT/topology.yaml" --run-dir "$RUNDIR" >"$OUT/testbed.txt"
DIR_NS=$PREFIX-dir
CL_NS=$PREFIX-cl1
VIP=$(sed -n 's/^VIP \([0-9.]*\).*/\1/p' "$OUT/testbed.txt")
RS=()
for i in 1 2; do
	RS+=("$(ip -n "$PREFIX-rs$i" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)")
done
[ -n "$VIP" ] && [ -n "${RS[0]}" ] && [ -n "${RS[1]}" ] || { log "could not read the testbed's addresses"; exit 1; }
log "VIP $VIP, real servers ${RS[*]}"

# --- real servers: plain nginx on static files ----------------------------
WWW="$OUT/www"
FIRST_SIZE=${SIZES%% *}
letters=abcdefghijklmnopqrstuvwxyz
for size in $SIZES; do
	mkdir -p "$WWW/obj/$size"
	for i in $(seq -w 0 99); do
		head -c "$size" /dev/zero | tr '\0' "${letters:$((10#$i % 26)):1}" >"$WWW/obj/$size/$i.html"
	done
done

# start NAME NS CMD...: runs CMD in namespace NS in the background and
# records its PID (ip netns exec execs CMD, so $! is CMD's own PID).
start() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$@" >"$OUT/$name.log" 2>&1 &
	PIDS+=($!)
	LAST_PID=$!
}

# stop PID: SIGTERM, then SIGKILL after 5 s.
stop() {
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

for i in 1 2; do
	d="$OUT/rs$i"
	mkdir -p "$d/logs" "$d/tmp"
	chmod 777 "$d/tmp"
	cat >"$d/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 10000000;
	keepalive_timeout 300s;
	open_file_cache max=1000;
	client_body_temp_path $d/tmp;
	proxy_temp_path $d/tmp;
	fastcgi_temp_path $d/tmp;
	uwsgi_temp_path $d/tmp;
	scgi_temp_path $d/tmp;
	server {
		listen ${RS[$((i - 1))]}:80 backlog=4096;
		root $WWW;
	}
}
EOF
	start "rs$i-nginx" "$PREFIX-rs$i" "$NGINX" -p "$d" -c "$d/nginx.conf"
done

# wait_http NS URL: until a GET from namespace NS answers 200 (10 s at most).
wait_http() {
	for _ in $(seq 100); do
		if [ "$(ip netns exec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$2" 2>/dev/null)" = 200 ]; then
			return 0
		fi
		sleep 0.1
	done
	log "no answer from $2 in namespace $1"
	return 1
}
for ip in "${RS[@]}"; do
	wait_http "$DIR_NS" "http://$ip/obj/$FIRST_SIZE/00.html"
done

# --- the switches ----------------------------------------------------------
cat >"$OUT/haproxy.cfg" <<EOF
global
	nbthread $CORES
	maxconn 4096
defaults
	mode http
	timeout connect 3s
	timeout client 30s
	timeout server 30s
	option http-keep-alive
	http-reuse always
frontend fe
	bind $VIP:80
	default_backend be
backend be
	balance roundrobin
	server rs1 ${RS[0]}:80
	server rs2 ${RS[1]}:80
EOF
mkdir -p "$OUT/nginx-proxy/tmp"
chmod 777 "$OUT/nginx-proxy/tmp"
cat >"$OUT/nginx-proxy/nginx.conf" <<EOF
worker_processes $CORES;
daemon off;
pid $OUT/nginx-proxy/nginx.pid;
error_log $OUT/nginx-proxy/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	keepalive_requests 10000000;
	client_body_temp_path $OUT/nginx-proxy/tmp;
	proxy_temp_path $OUT/nginx-proxy/tmp;
	fastcgi_temp_path $OUT/nginx-proxy/tmp;
	uwsgi_temp_path $OUT/nginx-proxy/tmp;
	scgi_temp_path $OUT/nginx-proxy/tmp;
	upstream be {
		server ${RS[0]}:80;
		server ${RS[1]}:80;
		keepalive 64;
	}
	server {
		listen $VIP:80 reuseport backlog=4096;
		location / {
			proxy_pass http://be;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF

# start_switch NAME: starts it in the director namespace; sets SW_PID.
start_switch() {
	case $1 in
	lvslab-*)
		start "$1" "$DIR_NS" "$LVSLAB" director --mode l7 --engine "${1#lvslab-}" --alg rr \
			--listen "$VIP:80" --backend "${RS[0]}:80" --backend "${RS[1]}:80" ${L7_FLAGS:-}
		;;
	haproxy) start "$1" "$DIR_NS" "$HAPROXY" -db -f "$OUT/haproxy.cfg" ;;
	nginx) start "$1" "$DIR_NS" "$NGINX" -p "$OUT/nginx-proxy" -c "$OUT/nginx-proxy/nginx.conf" ;;
	*)
		log "unknown switch $1 (want lvslab-epoll, lvslab-goroutine, haproxy, nginx)"
		exit 2
		;;
	esac
	SW_PID=$LAST_PID
	wait_http "$CL_NS" "http://$VIP/obj/$FIRST_SIZE/00.html"
}

# cpu_ticks PID: user + system clock ticks of PID and its children.
cpu_ticks() {
	local total=0 p f
	for p in $1 $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		f=$(cat /proc/"$p"/stat 2>/dev/null) || continue
		f=${f##*) }
		set -- $f
		total=$((total + ${12} + ${13}))
	done
	echo "$total"
}
TICK=$(getconf CLK_TCK)

# wrk's Lua script: the 100 paths of one size, formatted once; one
# machine-readable line at the end.
cat >"$OUT/paths.lua" <<'EOF'
local size = os.getenv("SIZE")
local close = os.getenv("MODE") == "close"
local reqs, n = {}, 0
function init(args)
	local headers = {}
	if close then headers["Connection"] = "close" end
	for i = 0, 99 do
		reqs[#reqs + 1] = wrk.format("GET", string.format("/obj/%s/%02d.html", size, i), headers)
	end
end
function request()
	n = n % #reqs + 1
	return reqs[n]
end
function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %d %d %.3f %d %d\n", summary.requests, summary.duration,
		latency:percentile(99) / 1000, e.connect + e.read + e.write + e.timeout, e.status))
end
EOF

ROUNDS_CSV="$OUT/rounds.csv"
echo "round,name,size,mode,reqs,duration_us,reqs_per_s,p99_ms,errors,cpu_ms_per_1k" >"$ROUNDS_CSV"

# measure NAME SIZE MODE ROUND
measure() {
	local name=$1 size=$2 mode=$3 round=$4 out c0 c1 res
	c0=$(cpu_ticks "$SW_PID")
	# In the background and waited for, so that a signal is handled at once.
	SIZE=$size MODE=$mode ip netns exec "$CL_NS" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" \
		-s "$OUT/paths.lua" "http://$VIP/" >"$OUT/wrk.out" 2>&1 &
	PIDS+=($!)
	wait $! || { log "wrk failed: $(cat "$OUT/wrk.out")"; return 1; }
	out=$(cat "$OUT/wrk.out")
	c1=$(cpu_ticks "$SW_PID")
	res=$(sed -n 's/^RESULT //p' <<<"$out")
	[ -n "$res" ] || { log "no result from wrk: $out"; return 1; }
	read -r reqs dur p99 errs bad <<<"$res"
	awk -v r="$round" -v n="$name" -v s="$size" -v m="$mode" -v q="$reqs" -v d="$dur" -v p="$p99" \
		-v e=$((errs + bad)) -v c=$((c1 - c0)) -v t="$TICK" \
		'BEGIN { printf "%s,%s,%s,%s,%d,%d,%.0f,%.2f,%d,%.2f\n", r, n, s, m, q, d, q / (d / 1e6), p, e, (q > 0 ? c * 1000 / t / (q / 1000) : 0) }' >>"$ROUNDS_CSV"
	log "$(tail -n1 "$ROUNDS_CSV")"
}

log "rounds $ROUNDS, $DURATION each, wrk -t$THREADS -c$CONNS, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT/load.txt"
for round in $(seq "$ROUNDS"); do
	for sw in $SWITCHES; do
		start_switch "$sw"
		# Warm up: back-end connections, caches.
		SIZE=$FIRST_SIZE MODE=keepalive ip netns exec "$CL_NS" wrk -t1 -c"$CONNS" -d1s -s "$OUT/paths.lua" "http://$VIP/" >/dev/null 2>&1 || true
		for size in $SIZES; do
			for mode in $MODES; do
				measure "$sw" "$size" "$mode" "$round"
			done
		done
		stop "$SW_PID"
	done
done
echo "$(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/load.txt"

# --- medians and ratios ----------------------------------------------------
awk -F, -v switches="$SWITCHES" -v sizes="$SIZES" -v modes="$MODES" '
function median(key,   n, i, j, t, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++) a[i] = val[key, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
NR > 1 {
	k = $2 SUBSEP $3 SUBSEP $4
	cnt[k "r"]++; val[k "r", cnt[k "r"]] = $7
	cnt[k "p"]++; val[k "p", cnt[k "p"]] = $8
	cnt[k "c"]++; val[k "c", cnt[k "c"]] = $10
	if ($9 > 0) errs[$2] += $9
}
END {
	ns = split(switches, sw, " "); nz = split(sizes, sz, " "); nm = split(modes, md, " ")
	print "name,size,mode,conns_per_s,reqs_per_s,p99_ms"
	for (i = 1; i <= ns; i++) for (j = 1; j <= nz; j++) for (k = 1; k <= nm; k++) {
		key = sw[i] SUBSEP sz[j] SUBSEP md[k]
		if (!cnt[key "r"]) continue
		r = median(key "r"); p = median(key "p"); c = median(key "c")
		rate[key] = r; cpu[key] = c
		printf "%s,%s,%s,%s,%.0f,%.2f\n", sw[i], sz[j], md[k], (md[k] == "close" ? sprintf("%.0f", r) : ""), r, p
	}
	print ""
	print "summary (median of the rounds; ratio = rate / HAProxy rate; cpu = director CPU ms per 1,000 requests):"
	for (i = 1; i <= ns; i++) {
		line = sprintf("  %-17s", sw[i])
		for (j = 1; j <= nz; j++) for (k = 1; k <= nm; k++) {
			key = sw[i] SUBSEP sz[j] SUBSEP md[k]; h = "haproxy" SUBSEP sz[j] SUBSEP md[k]
			if (!(key in rate)) continue
			ratio = (h in rate && rate[h] > 0) ? sprintf("%.2fx", rate[key] / rate[h]) : "-"
			line = line sprintf("  %s/%s %s cpu %.1f", sz[j], md[k], ratio, cpu[key])
		}
		print line
		if (errs[sw[i]] > 0) printf "  %-17s  WARNING: %d wrk errors (socket errors or non-2xx) over the rounds\n", sw[i], errs[sw[i]]
	}
}' "$ROUNDS_CSV"
log "done; configs, logs and every round in $OUT"
