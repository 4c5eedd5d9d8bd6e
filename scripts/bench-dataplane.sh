#!/usr/bin/env bash
# bench-dataplane.sh: lvslab's layer-4 director (VS/NAT, VS/TUN, VS/DR)
# against the kernel and the usual user-space balancers, side by side in one
# run, on one testbed: a client, a director and two real servers running
# nginx on a static 1 KB object, all on one bridged segment (the testbed's dr
# layout). wrk, from the client namespace, measures connections/s
# (Connection: close) and requests/s (keep-alive) to the VIP through each
# forwarder in turn, in the director namespace:
#
#   router        the limit: the director's kernel routes the VIP to the two
#                 real servers by ECMP (a multipath route, layer-4 hash), and
#                 the real servers, which hold the VIP on lo, answer the
#                 client directly; no address is rewritten (as DR, in the
#                 kernel)
#   lvslab-dr     lvslab director, VS/DR
#   lvslab-dr-xdp lvslab director, VS/DR with its XDP fast path (--xdp on):
#                 established connections' packets are forwarded by an XDP
#                 program on the director's interface, the rest as lvslab-dr
#   lvslab-tun    lvslab director, VS/TUN (lvslab tunnel-agent on each real
#                 server decapsulates)
#   lvslab-nat    lvslab director, VS/NAT
#   haproxy       HAProxy in TCP mode (mode tcp, roundrobin)
#   nginx-stream  nginx's stream module (a TCP proxy, round robin)
#   nft-dnat      the kernel's NAT: an nftables DNAT rule choosing the real
#                 server with "numgen inc mod 2" (the in-kernel NAT balancer,
#                 the closest stand-in for IPVS-NAT on a kernel without ip_vs)
#
# NAT on one segment: each real server has a second address (its NAT
# address, .21 and .22) whose replies a source policy route sends back
# through the director, which un-NATs them; lvslab-nat and nft-dnat use those
# addresses, the others the real servers' own. ip_forward is 1 in the
# director only for router and nft-dnat, and 0 otherwise (the kernel must not
# forward what lvslab forwards); the proxies get the VIP on the director's lo
# while they run.
#
# The testbed has xdp_peer: true (an XDP program passing every frame on the
# switch end of the director's link, which the fast path's XDP_TX needs on
# veth) for every forwarder alike.
#
# Prints CSV on standard output, the median of the rounds:
#   name,mode,conns_per_s,reqs_per_s
# then the director's CPU per 1,000 connections (user + system time of the
# forwarder's processes, from /proc; "-" for the kernel's; on veth it
# includes the real servers' receive work that the transmit system call
# carries), the packet rate test (hping3 sends a bounded stream of SYNs from random sources to the VIP;
# the real servers' received packets give the forwarded packets/s), and the
# ratios against the targets (lvslab-dr and lvslab-dr-xdp >= 0.9x router
# conn/s, median and per round; lvslab-nat >= HAProxy conn/s) and each
# forwarder's balance between the real servers. Progress goes to standard error; every round's numbers are
# kept in $OUT/rounds.csv.
#
# Needs root. Installs haproxy, nginx, libnginx-mod-stream, wrk, nftables,
# hping3 and curl with apt when missing, builds lvslab, makes the testbed
# with "lvslab testbed up", and removes everything it made on exit, Ctrl-C
# or failure. Traffic stays inside the testbed's namespaces.
#
# Environment:
#   ROUNDS=3          rounds; forwarders alternate within a round (median)
#   DURATION=10s      each wrk run
#   PEERS="router lvslab-dr lvslab-dr-xdp lvslab-tun lvslab-nat haproxy nginx-stream nft-dnat"
#   THREADS=2 CONNS=32  wrk -t and -c
#   PPS_COUNT=200000  SYNs per packet rate test (0: no test)
#   PPS_PEERS="router lvslab-dr lvslab-nat nft-dnat"
#   QUICK=1           a smoke run: 1 round of 2 s, 20,000 SYNs
#   OUT=dir           where configs, logs and rounds.csv go (default: a new
#                     directory under /tmp, kept)
# The defaults take about 7 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "bench-dataplane.sh: needs root (network namespaces)" >&2
	exit 1
fi

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
PPS_COUNT=${PPS_COUNT:-200000}
if [ "${QUICK:-0}" = 1 ]; then
	ROUNDS=1
	DURATION=2s
	PPS_COUNT=20000
fi
PEERS=${PEERS:-router lvslab-dr lvslab-dr-xdp lvslab-tun lvslab-nat haproxy nginx-stream nft-dnat}
PPS_PEERS=${PPS_PEERS:-router lvslab-dr lvslab-nat nft-dnat}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
CORES=$(nproc)
OUT=${OUT:-$(mktemp -d /tmp/bench-dataplane.XXXXXX)}
mkdir -p "$OUT"
chmod 755 "$OUT" # nginx workers run as nobody

log() { printf 'bench-dataplane: %s\n' "$*" >&2; }

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
	if [ -d "$RUNDIR" ]; then
		"$LVSLAB" testbed down --run-dir "$RUNDIR" >/dev/null 2>&1 || log "testbed down --run-dir $RUNDIR failed: remove it by hand"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools -----------------------------------------------------------------
need=()
for cmd in nginx:nginx haproxy:haproxy wrk:wrk nft:nftables hping3:hping3 curl:curl; do
	command -v "${cmd%%:*}" >/dev/null 2>&1 || need+=("${cmd#*:}")
done
STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
[ -f "$STREAM_MODULE" ] || need+=(libnginx-mod-stream)
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
name: bench-dataplane
mode: dr
clients: 1
servers: 2
prefix: $PREFIX
xdp_peer: true
sysctls:
  clients: {net.ipv4.ip_local_port_range: "1024 65000", net.ipv4.tcp_tw_reuse: "1"}
  director: {net.core.somaxconn: "4096", net.ipv4.tcp_max_syn_backlog: "4096", net.ipv4.fib_multipath_hash_policy: "1"}
  servers: {net.core.somaxconn: "4096", net.ipv4.tcp_max_syn_backlog: "4096"}
EOF
log "testbed up ($PREFIX)"
"$LVSLAB" testbed up -f "$OUT/topology.yaml" --run-dir "$RUNDIR" >"$OUT/testbed.txt"
DIR_NS=$PREFIX-dir
CL_NS=$PREFIX-cl1
VIP=$(sed -n 's/^VIP \([0-9.]*\).*/\1/p' "$OUT/testbed.txt")
addr_of() { ip -n "$1" -4 -o addr show dev eth0 | awk '{print $4}' | head -n1 | cut -d/ -f1; }
DIR_IP=$(addr_of "$DIR_NS")
RS=("$(addr_of "$PREFIX-rs1")" "$(addr_of "$PREFIX-rs2")")
NET=${DIR_IP%.*}
NATS=("$NET.21" "$NET.22")
[ -n "$VIP" ] && [ -n "$DIR_IP" ] && [ -n "${RS[0]}" ] && [ -n "${RS[1]}" ] || { log "could not read the testbed's addresses"; exit 1; }
log "VIP $VIP, director $DIR_IP, real servers ${RS[*]} (NAT addresses ${NATS[*]})"

# start NAME NS CMD...: runs CMD in namespace NS in the background and
# records its PID (ip netns exec execs CMD, so $! is CMD's own PID).
start() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$@" >>"$OUT/$name.log" 2>&1 &
	PIDS+=($!)
	LAST_PID=$!
}

# stop PID: SIGTERM, then SIGKILL after 5 s.
stop() {
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# --- real servers: nginx on a 1 KB object, NAT addresses, tunnel agents ----
WWW="$OUT/www"
mkdir -p "$WWW"
head -c 1024 /dev/zero | tr '\0' x >"$WWW/1k.html"
for i in 1 2; do
	ns=$PREFIX-rs$i
	nat=${NATS[$((i - 1))]}
	# The NAT address answers through the director: a source policy route.
	ip -n "$ns" addr add "$nat/24" dev eth0
	ip -n "$ns" route add default via "$DIR_IP" dev eth0 table 100
	ip -n "$ns" rule add from "$nat" lookup 100 pref 100
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
	open_file_cache max=10;
	client_body_temp_path $d/tmp;
	proxy_temp_path $d/tmp;
	fastcgi_temp_path $d/tmp;
	uwsgi_temp_path $d/tmp;
	scgi_temp_path $d/tmp;
	server {
		listen 80 backlog=4096;
		root $WWW;
	}
}
EOF
	start "rs$i-nginx" "$ns" "$NGINX" -p "$d" -c "$d/nginx.conf"
	start "rs$i-tunnel-agent" "$ns" "$LVSLAB" tunnel-agent --vip "$VIP"
done

# http_ok NS URL: a GET from namespace NS answers 200.
http_ok() {
	[ "$(ip netns exec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$2" 2>/dev/null)" = 200 ]
}
# wait_http NS URL: until http_ok, at most 10 s.
wait_http() {
	for _ in $(seq 100); do
		http_ok "$1" "$2" && return 0
		sleep 0.1
	done
	log "no answer from $2 in $1"
	return 1
}
for ip in "${RS[@]}" "${NATS[@]}"; do
	wait_http "$DIR_NS" "http://$ip/1k.html"
done

# --- the forwarders ----------------------------------------------------------
for mode in dr tun nat; do
	servers=("${RS[@]}")
	[ "$mode" = nat ] && servers=("${NATS[@]}")
	cat >"$OUT/services-$mode.yaml" <<EOF
services:
  - name: web
    mode: $mode
    listen: $VIP:80
    scheduler: rr
    servers:
      - address: ${servers[0]}:80
      - address: ${servers[1]}:80
EOF
done
cat >"$OUT/haproxy.cfg" <<EOF
global
	nbthread $CORES
	maxconn 4096
defaults
	mode tcp
	timeout connect 3s
	timeout client 30s
	timeout server 30s
frontend fe
	bind $VIP:80
	default_backend be
backend be
	balance roundrobin
	server rs1 ${RS[0]}:80
	server rs2 ${RS[1]}:80
EOF
mkdir -p "$OUT/nginx-stream"
cat >"$OUT/nginx-stream/nginx.conf" <<EOF
load_module $STREAM_MODULE;
worker_processes $CORES;
daemon off;
pid $OUT/nginx-stream/nginx.pid;
error_log $OUT/nginx-stream/error.log warn;
events { worker_connections 20000; }
stream {
	upstream be {
		server ${RS[0]}:80;
		server ${RS[1]}:80;
	}
	server {
		listen $VIP:80 reuseport backlog=4096;
		proxy_pass be;
	}
}
EOF
cat >"$OUT/nft-dnat.nft" <<EOF
table ip lvsbench {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $VIP tcp dport 80 dnat to numgen inc mod 2 map { 0 : ${NATS[0]}, 1 : ${NATS[1]} }
	}
}
EOF

dirsys() { ip netns exec "$DIR_NS" sysctl -q -w "$1" >/dev/null; }

# start_peer NAME: sets the director namespace up for NAME, starts its
# process if it has one (PEER_PID, else empty) and waits for an answer.
start_peer() {
	PEER_PID=
	case $1 in
	router)
		dirsys net.ipv4.ip_forward=1
		ip -n "$DIR_NS" route add "$VIP/32" nexthop via "${RS[0]}" dev eth0 nexthop via "${RS[1]}" dev eth0
		;;
	lvslab-dr | lvslab-tun | lvslab-nat)
		start "$1" "$DIR_NS" "$LVSLAB" director -f "$OUT/services-${1#lvslab-}.yaml" --ctl "$OUT/$1.sock"
		PEER_PID=$LAST_PID
		;;
	lvslab-dr-xdp)
		start "$1" "$DIR_NS" "$LVSLAB" director -f "$OUT/services-dr.yaml" --ctl "$OUT/$1.sock" --xdp on
		PEER_PID=$LAST_PID
		;;
	haproxy)
		ip -n "$DIR_NS" addr add "$VIP/32" dev lo
		start "$1" "$DIR_NS" "$HAPROXY" -db -f "$OUT/haproxy.cfg"
		PEER_PID=$LAST_PID
		;;
	nginx-stream)
		ip -n "$DIR_NS" addr add "$VIP/32" dev lo
		start "$1" "$DIR_NS" "$NGINX" -p "$OUT/nginx-stream" -c "$OUT/nginx-stream/nginx.conf"
		PEER_PID=$LAST_PID
		;;
	nft-dnat)
		dirsys net.ipv4.ip_forward=1
		ip netns exec "$DIR_NS" nft -f "$OUT/nft-dnat.nft"
		;;
	*)
		log "unknown forwarder $1 (want router, lvslab-dr, lvslab-dr-xdp, lvslab-tun, lvslab-nat, haproxy, nginx-stream, nft-dnat)"
		exit 2
		;;
	esac
	wait_http "$CL_NS" "http://$VIP/1k.html"
}

# stop_peer NAME: undoes start_peer.
stop_peer() {
	[ -z "$PEER_PID" ] || stop "$PEER_PID"
	case $1 in
	router) ip -n "$DIR_NS" route del "$VIP/32" ;;
	haproxy | nginx-stream) ip -n "$DIR_NS" addr del "$VIP/32" dev lo ;;
	nft-dnat) ip netns exec "$DIR_NS" nft delete table ip lvsbench ;;
	esac
	dirsys net.ipv4.ip_forward=0
	# Let the last connections' segments pass before the next forwarder.
	sleep 1
}

# mode_of NAME: the CSV's mode column.
mode_of() {
	case $1 in
	router) echo route ;;
	lvslab-*) echo "${1#lvslab-}" ;;
	haproxy | nginx-stream) echo proxy ;;
	nft-dnat) echo nat ;;
	esac
}

# cpu_ticks PID: user + system clock ticks of PID and its children.
cpu_ticks() {
	local total=0 p f
	[ -n "$1" ] || { echo 0; return; }
	for p in $1 $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		f=$(cat /proc/"$p"/stat 2>/dev/null) || continue
		f=${f##*) }
		set -- $f
		total=$((total + ${12} + ${13}))
	done
	echo "$total"
}
TICK=$(getconf CLK_TCK)

cat >"$OUT/wrk.lua" <<'EOF'
local close = os.getenv("MODE") == "close"
local req
function init(args)
	local headers = {}
	if close then headers["Connection"] = "close" end
	req = wrk.format("GET", "/1k.html", headers)
end
function request() return req end
function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %d %d %d %d\n", summary.requests, summary.duration,
		e.connect + e.read + e.write + e.timeout, e.status))
end
EOF

ROUNDS_CSV="$OUT/rounds.csv"
echo "round,name,mode,reqs,duration_us,per_s,errors,cpu_ms_per_1k" >"$ROUNDS_CSV"
rm -f "$OUT"/shares-*.txt

# rx_of I: packets real server I received on eth0 so far.
rx_of() { ip netns exec "$PREFIX-rs$1" cat /sys/class/net/eth0/statistics/rx_packets; }

# measure NAME MODE ROUND: one wrk run (MODE close or keepalive).
measure() {
	local name=$1 mode=$2 round=$3 out c0 c1 res a0 b0 a1 b1
	a0=$(rx_of 1)
	b0=$(rx_of 2)
	c0=$(cpu_ticks "$PEER_PID")
	out=$(MODE=$mode ip netns exec "$CL_NS" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" \
		-s "$OUT/wrk.lua" "http://$VIP/" 2>&1) || { log "wrk failed: $out"; return 1; }
	c1=$(cpu_ticks "$PEER_PID")
	a1=$(rx_of 1)
	b1=$(rx_of 2)
	res=$(sed -n 's/^RESULT //p' <<<"$out")
	[ -n "$res" ] || { log "no result from wrk: $out"; return 1; }
	read -r reqs dur errs bad <<<"$res"
	# The real servers' shares of the packets: the balance of the forwarder.
	awk -v a=$((a1 - a0)) -v b=$((b1 - b0)) 'BEGIN { if (a + b > 0) printf "%.2f %.2f\n", a / (a + b), b / (a + b) }' >>"$OUT/shares-$name-$mode.txt"
	local cpu=-
	if [ -n "$PEER_PID" ]; then
		cpu=$(awk -v c=$((c1 - c0)) -v t="$TICK" -v q="$reqs" 'BEGIN { printf "%.2f", (q > 0 ? c * 1000 / t / (q / 1000) : 0) }')
	fi
	awk -v r="$round" -v n="$name" -v m="$mode" -v q="$reqs" -v d="$dur" -v e=$((errs + bad)) -v c="$cpu" \
		'BEGIN { printf "%s,%s,%s,%d,%d,%.0f,%d,%s\n", r, n, m, q, d, q / (d / 1e6), e, c }' >>"$ROUNDS_CSV"
	log "$(tail -n1 "$ROUNDS_CSV")"
}

# rx_packets: packets the real servers received on eth0 so far.
rx_packets() {
	local n=0 i
	for i in 1 2; do
		n=$((n + $(ip netns exec "$PREFIX-rs$i" cat /sys/class/net/eth0/statistics/rx_packets)))
	done
	echo "$n"
}

PPS_CSV="$OUT/pps.csv"
echo "name,syns,forwarded,seconds,sent_per_s,forwarded_per_s,director_cpu_ms" >"$PPS_CSV"

# pps NAME: the packet rate test: PPS_COUNT SYNs from random sources to the
# VIP, as fast as hping3 sends them; the real servers count what arrives.
pps() {
	local name=$1 r0 r1 t0 t1 c0 c1
	r0=$(rx_packets)
	c0=$(cpu_ticks "$PEER_PID")
	t0=$(date +%s.%N)
	ip netns exec "$CL_NS" timeout 60 hping3 -q -S -p 80 --rand-source -i u1 -c "$PPS_COUNT" "$VIP" >"$OUT/hping3-$name.log" 2>&1 || true
	t1=$(date +%s.%N)
	sleep 0.5 # the last packets' way
	r1=$(rx_packets)
	c1=$(cpu_ticks "$PEER_PID")
	awk -v n="$name" -v s="$PPS_COUNT" -v f=$((r1 - r0)) -v a="$t0" -v b="$t1" -v c=$((c1 - c0)) -v t="$TICK" -v p="$PEER_PID" \
		'BEGIN { printf "%s,%d,%d,%.2f,%.0f,%.0f,%s\n", n, s, f, b - a, s / (b - a), f / (b - a), (p == "" ? "-" : sprintf("%.0f", c * 1000 / t)) }' >>"$PPS_CSV"
	log "pps: $(tail -n1 "$PPS_CSV")"
}

log "rounds $ROUNDS, $DURATION each, wrk -t$THREADS -c$CONNS, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT/load.txt"
for round in $(seq "$ROUNDS"); do
	for peer in $PEERS; do
		start_peer "$peer"
		# Warm up: caches, ARP, the scheduler.
		MODE=keepalive ip netns exec "$CL_NS" wrk -t1 -c"$CONNS" -d1s -s "$OUT/wrk.lua" "http://$VIP/" >/dev/null 2>&1 || true
		measure "$peer" close "$round"
		measure "$peer" keepalive "$round"
		if [ "$round" = 1 ] && [ "$PPS_COUNT" -gt 0 ] && [[ " $PPS_PEERS " == *" $peer "* ]]; then
			pps "$peer"
		fi
		stop_peer "$peer"
	done
done
echo "$(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/load.txt"

# --- medians and ratios ----------------------------------------------------
awk -F, -v peers="$PEERS" -v modes="$(for p in $PEERS; do printf '%s=%s ' "$p" "$(mode_of "$p")"; done)" '
function median(key,   n, i, j, t, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++) a[i] = val[key, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
FILENAME ~ /rounds.csv$/ && FNR > 1 {
	k = $2 SUBSEP $3
	cnt[k]++; val[k, cnt[k]] = $6
	if ($3 == "close" && $8 != "-") { cnt[k "cpu"]++; val[k "cpu", cnt[k "cpu"]] = $8 }
	if ($7 > 0) errs[$2] += $7
	if ($3 == "close") { round[$2, $1] = $6; if ($1 > nr) nr = $1 }
}
FILENAME ~ /pps.csv$/ && FNR > 1 { pps[$1] = $0 }
END {
	np = split(peers, p, " ")
	nm = split(modes, mm, " "); for (i = 1; i <= nm; i++) { split(mm[i], kv, "="); mode[kv[1]] = kv[2] }
	print "name,mode,conns_per_s,reqs_per_s"
	for (i = 1; i <= np; i++) {
		c = p[i] SUBSEP "close"; k = p[i] SUBSEP "keepalive"
		conn[p[i]] = cnt[c] ? median(c) : 0; req[p[i]] = cnt[k] ? median(k) : 0
		printf "%s,%s,%.0f,%.0f\n", p[i], mode[p[i]], conn[p[i]], req[p[i]]
	}
	print ""
	print "director CPU per 1,000 connections (ms, Connection: close runs, median; - : the kernel, not a process):"
	for (i = 1; i <= np; i++) {
		c = p[i] SUBSEP "close" "cpu"
		printf "  %-13s %s\n", p[i], (cnt[c] ? sprintf("%.1f", median(c)) : "-")
		if (errs[p[i]] > 0) printf "  %-13s WARNING: %d wrk errors (socket errors or non-2xx) over the rounds\n", p[i], errs[p[i]]
	}
	if (length(pps) > 0) {
		print ""
		print "packet rate: SYNs from random sources to the VIP (name,syns,forwarded,seconds,sent_per_s,forwarded_per_s,director_cpu_ms;"
		print "forwarded_per_s near sent_per_s means hping3 was the limit):"
		for (i = 1; i <= np; i++) if (p[i] in pps) print "  " pps[p[i]]
	}
	print ""
	print "targets:"
	for (i = 1; i <= 2; i++) {
		n = i == 1 ? "lvslab-dr" : "lvslab-dr-xdp"
		if (conn["router"] <= 0 || !(n in conn)) continue
		printf "  %s conn/s = %.2fx router (target >= 0.90x); per round:", n, conn[n] / conn["router"]
		for (r = 1; r <= nr; r++) if (round["router", r] > 0) printf " %.2f", round[n, r] / round["router", r]
		printf "\n"
	}
	if (conn["haproxy"] > 0 && ("lvslab-nat" in conn)) printf "  lvslab-nat conn/s = %.2fx haproxy (target >= 1.00x)\n", conn["lvslab-nat"] / conn["haproxy"]
}' "$ROUNDS_CSV" "$PPS_CSV"
echo
echo "balance: the real servers' shares of the packets in each Connection: close run (rs1/rs2):"
for peer in $PEERS; do
	[ -f "$OUT/shares-$peer-close.txt" ] && printf '  %-13s %s\n' "$peer" "$(tr ' \n' '/ ' <"$OUT/shares-$peer-close.txt")"
done
log "done; configs, logs and every round in $OUT"
