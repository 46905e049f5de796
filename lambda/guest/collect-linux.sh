#!/bin/sh
# timesync-guard collector for Linux (report format v1).
#
# Read-only: it changes nothing (one mktemp directory in $TMPDIR, removed on exit); its only network
# use is one IMDSv2 token PUT and one GET to the instance's own IMDS (chronyc/ntpq talk to the local
# daemon only), and it needs neither systemd nor bash. It prints one compact report on stdout that
# `npx timesync-guard diagnose` (and the hourly check) judges; all judgement happens there.
# Every probe runs under a timeout and the whole run keeps to a ~9 s budget, so a hung daemon
# cannot hold the SSM command.
#
# Overrides (for tests; the defaults are right for real hosts):
#   TSG_ROOT            prefix for /etc, /proc, /sys, /dev, /run, /var (default: empty)
#   TSG_CHRONYC         chronyc command and options, e.g. "chronyc -h /tmp/x/chronyd.sock"
#   TSG_NTPQ, TSG_NTPCTL, TSG_TIMEDATECTL, TSG_SYSTEMCTL   the other tools ("none" = absent)
#   TSG_PROBE_TIMEOUT   seconds per probe (default 2); TSG_BUDGET seconds for all probes (default 9)
#   TSG_MAX_CHARS       size budget of the plain report (default 2400)
#   TSG_SEALED_MAX_CHARS size budget of the report before compression (default 12000)
#   TSG_PLAIN           1 = print the plain report, never the compressed envelope
#   TSG_IMDS            IMDS base URL (default http://169.254.169.254; "none" = no probe, as with
#                       AWS_EC2_METADATA_DISABLED=true); TSG_IMDS_TIMEOUT seconds per request (default 2)
#   TSG_ETHTOOL, TSG_CURL, TSG_WGET   those tools ("none" = absent)
# Under TSG_ROOT, /proc/1/ns (else /proc/self/ns) names the host's namespaces; absent, every process counts.

set -u
export LC_ALL=C
R="${TSG_ROOT:-}"
CHRONYC="${TSG_CHRONYC:-chronyc}"
NTPQ="${TSG_NTPQ:-ntpq}"
NTPCTL="${TSG_NTPCTL:-ntpctl}"
TIMEDATECTL="${TSG_TIMEDATECTL:-timedatectl}"
SYSTEMCTL="${TSG_SYSTEMCTL:-systemctl}"
PROBE_TIMEOUT="${TSG_PROBE_TIMEOUT:-2}"
BUDGET="${TSG_BUDGET:-9}"
MAX_CHARS="${TSG_MAX_CHARS:-2400}"
SEALED_MAX_CHARS="${TSG_SEALED_MAX_CHARS:-12000}"
IMDS="${TSG_IMDS:-http://169.254.169.254}"
IMDS_TIMEOUT="${TSG_IMDS_TIMEOUT:-2}"
ETHTOOL="${TSG_ETHTOOL:-ethtool}"
CURL="${TSG_CURL:-curl}"
WGET="${TSG_WGET:-wget}"
START=$(date +%s)

# A private directory from mktemp, or no probe at all: a predictable name in /tmp could be a
# symlink someone planted for root to follow.
if ! TMPD=$(mktemp -d 2>/dev/null) || [ -z "$TMPD" ] || [ ! -d "$TMPD" ]; then
  printf '%s\n' "TSG-REPORT v1 linux" "now=$START" "[collector-error rc=1]" \
    "cannot create a temporary directory (mktemp -d failed in ${TMPDIR:-/tmp}): nothing was probed" "TSG-END"
  exit 1
fi
OUT=$TMPD/report
trap 'rm -rf "$TMPD"' EXIT
trap 'exit 143' HUP INT TERM
: >"$OUT" || exit 3

emit() { printf '%s\n' "$*" >>"$OUT"; }

# has CMD: the first word of a command string names an executable.
has() {
  [ "$1" != none ] || return 1
  # shellcheck disable=SC2086 # split the command string into words
  set -- $1
  command -v "$1" >/dev/null 2>&1
}

if timeout 5 true >/dev/null 2>&1; then HAVE_TIMEOUT=1; else HAVE_TIMEOUT=; fi

# run_to SECONDS CMD...: runs CMD with a timeout; rc 124 when it was killed.
run_to() {
  t=$1
  shift
  if [ -n "$HAVE_TIMEOUT" ]; then
    timeout -k 1 "$t" "$@"
    return $?
  fi
  # No timeout(1) (old busybox, minimal images): a watcher kills the probe and leaves a mark.
  rm -f "$TMPD/timed-out"
  "$@" &
  rt_pid=$!
  (
    sleep "$t"
    touch "$TMPD/timed-out"
    kill -TERM "$rt_pid" 2>/dev/null
    sleep 1
    kill -KILL "$rt_pid" 2>/dev/null
  ) >/dev/null 2>&1 &
  rt_watch=$!
  wait "$rt_pid"
  rt_rc=$?
  kill "$rt_watch" 2>/dev/null
  if [ -e "$TMPD/timed-out" ] && [ "$rt_rc" -gt 128 ]; then
    rm -f "$TMPD/timed-out"
    return 124
  fi
  return $rt_rc
}

# probe NAME MAXLINES CMD...: one report section holding CMD's stdout (and stderr, where tools
# such as chronyc print "506 Cannot talk to daemon"), capped in lines and line length.
probe() {
  p_name=$1
  p_max=$2
  shift 2
  p_left=$((BUDGET - ($(date +%s) - START)))
  if [ "$p_left" -le 0 ]; then
    emit "[$p_name rc=124]"
    emit "skipped: collector time budget spent"
    p_rc=124
    return
  fi
  [ "$p_left" -lt "$PROBE_TIMEOUT" ] || p_left=$PROBE_TIMEOUT
  p_out=$(run_to "$p_left" "$@" 2>&1 </dev/null)
  p_rc=$?
  emit "[$p_name rc=$p_rc]"
  [ -n "$p_out" ] || return 0
  p_out=$(printf '%s\n' "$p_out" | cut -c1-200 | sed -e '/^[[:space:]]*$/d' -e '/^TSG-/d')
  printf '%s\n' "$p_out" | head -n "$p_max" >>"$OUT"
  p_n=$(printf '%s\n' "$p_out" | wc -l)
  [ "$p_n" -le "$p_max" ] || emit "TSG-CUT $p_name $((p_n - p_max))"
}

# --- header ---------------------------------------------------------------------------------
emit "TSG-REPORT v1 linux"
emit "collector=1"
emit "now=$START"
os_id=unknown
os_ver=
if [ -r "$R/etc/os-release" ]; then
  os_id=$(sed -n 's/^ID=//p' "$R/etc/os-release" | tr -d '"'"'" | head -n 1)
  os_ver=$(sed -n 's/^VERSION_ID=//p' "$R/etc/os-release" | tr -d '"'"'" | head -n 1)
fi
emit "os=$(printf '%s %s' "${os_id:-unknown}" "$os_ver" | tr -cd 'A-Za-z0-9._ -' | cut -c1-60)"

# Time daemons: systemd's view when systemd runs, plus a process scan that works everywhere
# (containers, sysvinit, daemons started by hand).
daemons=
add_daemon() {
  case ",$daemons," in *",$1,"*) ;; *) daemons="${daemons:+$daemons,}$1" ;; esac
}
detect=proc
if [ -d "$R/run/systemd/system" ] && has "$SYSTEMCTL"; then
  detect=systemctl+proc
  # One call, one line per unit in order (a hung systemd costs one timeout, not seven).
  units="chronyd chrony ntpd ntp ntpsec systemd-timesyncd openntpd"
  # shellcheck disable=SC2086
  states=$(run_to 2 $SYSTEMCTL is-active $units 2>/dev/null)
  # shellcheck disable=SC2086 # one word per unit
  set -- $states
  for u in $units; do
    if [ "${1:-}" = active ]; then
      case $u in
        chrony | chronyd) add_daemon chronyd ;;
        ntp | ntpd) add_daemon ntpd ;;
        *) add_daemon "$u" ;;
      esac
    fi
    [ $# -eq 0 ] || shift
  done
fi
# Only processes in the host's own mount and network namespaces count: a chronyd or dockerd inside
# a container (or any other namespace) is visible in /proc but is not this host's daemon.
ns_of() { printf '%s:%s' "$(readlink "$1/ns/mnt" 2>/dev/null)" "$(readlink "$1/ns/net" 2>/dev/null)"; }
HOST_NS=$(ns_of "$R/proc/1")
# Not root: PID 1's links are unreadable, ours are the host's (the agent runs in them).
[ "$HOST_NS" != ":" ] || HOST_NS=$(ns_of "$R/proc/self")
comms=
clockbound=none
chrony_conf=
if [ -d "$R/proc" ]; then
  # One grep over all comm files: only the processes we care about are looked at further.
  # shellcheck disable=SC2013 # /proc paths have no spaces; a pipe would lose the variables set in the loop
  for f in $(grep -lE '^(chronyd|ntpd|ntpsec|systemd-timesyn.*|openntpd|dockerd|containerd|containerd-shim.*|podman|conmon|kubelet|amazon-ecs-agen.*|clockbound)$' "$R"/proc/[0-9]*/comm 2>/dev/null); do
    d=${f%/comm}
    c=$(cat "$f" 2>/dev/null) || continue
    # Zombies keep their name but run nothing.
    case $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "$d/status" 2>/dev/null) in Z | X) continue ;; esac
    if [ "$HOST_NS" != ":" ]; then
      # Unreadable links (not root) cannot tell: the process counts, as it did before this check.
      p_ns=$(ns_of "$d")
      [ "$p_ns" = ":" ] || [ "$p_ns" = "$HOST_NS" ] || continue
    fi
    case $c in
      chronyd)
        add_daemon chronyd
        # The configuration chronyd really read: its -f argument (default /etc/chrony.conf or /etc/chrony/chrony.conf).
        f=$(tr '\0' '\n' <"$d/cmdline" 2>/dev/null | sed -n '/^-f$/{n;p;q;}')
        case " $chrony_conf " in *" ${f:-/etc/chrony.conf} "*) ;; *) chrony_conf="$chrony_conf ${f:-/etc/chrony.conf}" ;; esac
        ;;
      ntpd)
        # OpenNTPD also calls itself ntpd; its children retitle themselves "ntpd: ntp engine".
        if tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -q 'ntpd: '; then add_daemon openntpd; else add_daemon ntpd; fi
        ;;
      ntpsec) add_daemon ntpsec ;;
      systemd-timesyn*) add_daemon systemd-timesyncd ;;
      openntpd) add_daemon openntpd ;;
      clockbound) clockbound=running ;;
      dockerd | containerd | podman | conmon | kubelet | amazon-ecs-agen* | containerd-shim*)
        case " $comms " in *" $c "*) ;; *) comms="$comms $c" ;; esac
        ;;
    esac
  done
else
  detect=none
fi
[ -n "$daemons" ] || daemons=none
[ "$detect" != none ] || daemons=
emit "detect=$detect"
[ -z "$daemons" ] || emit "daemons=$daemons"

# Container runtimes: processes and their sockets/config (a socket alone means a runtime is installed and can start).
containers=
add_ct() {
  case ",$containers," in *",$1,"*) ;; *) containers="${containers:+$containers,}$1" ;; esac
}
for c in $comms; do
  case $c in
    dockerd) add_ct docker ;;
    containerd | containerd-shim*) add_ct containerd ;;
    podman | conmon) add_ct podman ;;
    kubelet) add_ct kubelet ;;
    amazon-ecs-agen*) add_ct ecs ;;
  esac
done
{ [ -S "$R/run/docker.sock" ] || [ -S "$R/var/run/docker.sock" ]; } && add_ct docker
[ -S "$R/run/containerd/containerd.sock" ] && add_ct containerd
[ -S "$R/run/podman/podman.sock" ] && add_ct podman
{ [ -e "$R/etc/ecs/ecs.config" ] || [ -d "$R/var/lib/ecs/data" ]; } && add_ct ecs
[ -e "$R/var/lib/kubelet/config.yaml" ] && add_ct kubelet
emit "containers=${containers:-none}"
# ClockBound (aws/clock-bound) publishes the clock error bound to applications; its presence matters for phc_error_bound.
if [ "$clockbound" != running ] && { has clockbound || [ -x "$R/usr/bin/clockbound" ]; }; then clockbound=installed; fi
emit "clockbound=$clockbound"
up=$(cut -d. -f1 "$R/proc/uptime" 2>/dev/null)
case $up in '' | *[!0-9]*) ;; *) emit "uptime=$up" ;; esac

# PTP hardware clock (the ENA PHC is "ena-ptp"; newer AMIs add a /dev/ptp_ena symlink).
ptp=
for p in "$R"/sys/class/ptp/ptp*; do
  [ -r "$p/clock_name" ] || continue
  n=$(head -n 1 "$p/clock_name" 2>/dev/null | tr -c 'A-Za-z0-9._\n-' '_')
  ptp="${ptp:+$ptp,}${p##*/}:$n"
done
[ -e "$R/dev/ptp_ena" ] && ptp="${ptp:+$ptp,}ptp_ena"
emit "ptp=${ptp:-none}"

# System-wide proxy settings (IMDS requests must bypass any proxy). SSM output is readable
# account-wide, so only what the check needs leaves the host: the exact http_proxy, https_proxy and
# no_proxy assignments (any case), one per line as FILE:NAME=value, nothing else from the line
# (no https_proxy_password=, *_AUTH=, proxy_user, comments). In every value, everything before the
# LAST "@" or "%40" (user, user:password, whatever the password holds) becomes "***"; a proxy value
# that is then not plainly [scheme://][***@]host[:port] is printed as "***" (still "set").
# A value runs to its closing quote, else to ";", the next blank followed by "NAME=" or "#", or the end.
proxy_assignments() {
  awk -v root="$R" '
    function redact(v,   l, i, k, p, e, s) {
      l = tolower(v)
      i = 0
      while ((p = index(substr(v, i + 1), "@")) > 0) i += p
      k = 0
      while ((p = index(substr(l, k + 1), "%40")) > 0) k += p
      e = i
      if (k > 0 && k + 2 > e) e = k + 2
      if (e == 0) return v
      s = ""
      if (match(v, /^[A-Za-z][A-Za-z0-9+.-]*:\/\//) && RLENGTH < e) s = substr(v, 1, RLENGTH)
      return s "***@" substr(v, e + 1)
    }
    FNR == 1 {
      f = FILENAME
      if (root != "" && index(f, root) == 1) f = substr(f, length(root) + 1)
    }
    {
      s = $0
      gsub(/[\r\001-\010\013-\037]/, "", s)
      if (s ~ /^[ \t]*#/) next
      sub(/^[ \t]*(export[ \t]+)?/, "", s)
      sub(/^DefaultEnvironment[ \t]*=[ \t]*/, "", s)
      s = " " s
      while (match(tolower(s), /[ \t;"\047](https?_proxy|no_proxy)[ \t]*=/)) {
        q = substr(s, RSTART, 1)
        name = substr(s, RSTART + 1, RLENGTH - 1)
        sub(/[ \t]*=$/, "", name)
        s = substr(s, RSTART + RLENGTH)
        sub(/^[ \t]+/, "", s)
        c = substr(s, 1, 1)
        cl = ""
        if (q == "\"" || q == "\047") cl = q
        else if (c == "\"" || c == "\047") { cl = c; s = substr(s, 2) }
        if (cl != "") {
          e = index(s, cl)
          if (e == 0) e = length(s) + 1
        } else if (match(s, /;|[ \t]+([A-Za-z_][A-Za-z0-9_]*=|#)/)) {
          e = RSTART
        } else {
          e = length(s) + 1
        }
        v = redact(substr(s, 1, e - 1))
        s = substr(s, e)
        if (tolower(name) != "no_proxy" && v !~ /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?(\*\*\*@)?([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]+)?\/?$/) v = "***"
        print f ":" name "=" v
      }
    }
  ' "$@"
}
proxy_files=
for f in "$R/etc/environment" "$R"/etc/profile.d/*.sh "$R/etc/systemd/system.conf" "$R"/etc/systemd/system.conf.d/*.conf; do
  [ -r "$f" ] && proxy_files="$proxy_files $f"
done
if [ -n "$proxy_files" ]; then
  # shellcheck disable=SC2086 # word splitting of the file list is intended
  plines=$(proxy_assignments $proxy_files 2>/dev/null | cut -c1-200 | head -n 8)
  if [ -n "$plines" ]; then
    emit "[proxy rc=0]"
    printf '%s\n' "$plines" >>"$OUT"
  fi
fi

# --- time daemons -------------------------------------------------------------------------------
case ",$daemons," in
  *,chronyd,* | ,,) run_chrony=1 ;;
  *) run_chrony= ;;
esac
# With no time daemon seen, still ask chronyc when it is installed: its "506 Cannot talk to daemon" is the evidence.
[ "$daemons" != none ] || run_chrony=1
if [ -n "$run_chrony" ] && has "$CHRONYC"; then
  # shellcheck disable=SC2086 # CHRONYC is a command with options
  probe chrony-tracking 5 $CHRONYC -n -c tracking
  # No sources query when tracking failed (506, timeout): it would fail the same way and spend the budget.
  if [ "$p_rc" -eq 0 ]; then
    # shellcheck disable=SC2086
    probe chrony-sources 200 $CHRONYC -n -c sources
  fi
fi
case ",$daemons," in
  *,ntpd,* | *,ntpsec,*)
    if has "$NTPQ"; then
      # shellcheck disable=SC2086
      probe ntpq 200 $NTPQ -pn
      # shellcheck disable=SC2086
      probe ntpq-rv 4 $NTPQ -n -c 'rv 0 leap,stratum,rootdelay,rootdisp,refid,offset'
    fi
    ;;
esac
case ",$daemons," in
  *,openntpd,*)
    if has "$NTPCTL"; then
      # shellcheck disable=SC2086
      probe ntpctl 20 $NTPCTL -s all
    fi
    ;;
esac
if [ -d "$R/run/systemd/system" ] && has "$TIMEDATECTL"; then
  # shellcheck disable=SC2086
  probe timedatectl 8 $TIMEDATECTL show -p NTP -p NTPSynchronized -p CanNTP -p LocalRTC
  case ",$daemons," in
    *,systemd-timesyncd,*)
      # shellcheck disable=SC2086
      probe timesync 8 $TIMEDATECTL show-timesync -p ServerName -p ServerAddress -p NTPMessage -p PollIntervalUSec
      # shellcheck disable=SC2086
      probe timesync-status 16 $TIMEDATECTL timesync-status
      ;;
  esac
fi

# --- IMDS: can this guest get a token, and what time does AWS say it is? ---------------------------
# One IMDSv2 token PUT (60 s TTL) and one GET, straight to the endpoint (no proxy: proxies are judged
# apart), each bounded by TSG_IMDS_TIMEOUT and the budget. Only status codes, latencies and the Date
# header are printed: never the token nor the answer. The token goes to curl in a file (-H @file),
# never on a command line other users can read; wget and curl < 7.55 have no such option, so with them
# only the PUT runs.
now_ms() {
  n=$(date +%s%N 2>/dev/null)
  case $n in '' | *[!0-9]*) echo $(($(date +%s) * 1000)) ;; *) echo $((n / 1000000)) ;; esac
}
# imds_req METHOD PATH HEADERFILE: sets st (HTTP code, timeout, refused, error) and ms.
imds_req() {
  rm -f "$TMPD/h" "$TMPD/b"
  ir_t=$((BUDGET - ($(date +%s) - START)))
  [ "$ir_t" -lt "$IMDS_TIMEOUT" ] || ir_t=$IMDS_TIMEOUT
  if [ "$ir_t" -le 0 ]; then
    st=skipped
    ms=0
    return
  fi
  ir_0=$(now_ms)
  if [ "$via" = curl ]; then
    # shellcheck disable=SC2086 # CURL may carry options
    ir_w=$(run_to $((ir_t + 1)) $CURL -s -g --noproxy '*' --connect-timeout 1 -m "$ir_t" -X "$1" -H @"$3" -D "$TMPD/h" -o "$TMPD/b" -w '%{http_code}' "$IMDS$2" 2>/dev/null)
    ir_rc=$?
  else
    # shellcheck disable=SC2086
    run_to $((ir_t + 1)) $WGET -q -S --no-proxy -T "$ir_t" -t 1 --method="$1" --header="$(cat "$3")" -O "$TMPD/b" "$IMDS$2" 2>"$TMPD/h"
    ir_rc=$?
    ir_w=$(sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$TMPD/h" | tail -n 1)
    case $ir_rc in 4) grep -qi 'refused\|unreachable' "$TMPD/h" && ir_rc=7 || ir_rc=28 ;; 8) ir_rc=0 ;; esac
  fi
  ms=$(($(now_ms) - ir_0))
  st=error
  case $ir_rc in 28 | 124 | 137) st=timeout ;; 7) st=refused ;; esac
  case $ir_w in [1-5][0-9][0-9]) [ "$ir_rc" -ne 0 ] || st=$ir_w ;; esac
  ir_d=$(sed -n 's/^ *[Dd][Aa][Tt][Ee]: *//p' "$TMPD/h" 2>/dev/null | tr -cd 'A-Za-z0-9 :,\n' | tail -n 1 | cut -c1-40)
  if [ -n "$ir_d" ]; then
    date_hdr=$ir_d
    date_local=$(date +%s)
  fi
}
via=none
if [ "$IMDS" = none ] || [ "${AWS_EC2_METADATA_DISABLED:-}" = true ]; then via=off; elif has "$CURL"; then via=curl; elif has "$WGET"; then via=wget; fi
date_hdr=
date_local=
emit "[imds rc=0]"
if [ "$via" = none ] || [ "$via" = off ]; then
  emit "via=$via"
else
  printf 'X-aws-ec2-metadata-token-ttl-seconds: 60\n' >"$TMPD/put"
  imds_req PUT /latest/api/token "$TMPD/put"
  line="via=$via put=$st put_ms=$ms"
  # shellcheck disable=SC2046,SC2086 # major and minor version as two words
  set -- $($CURL --version 2>/dev/null | sed -n '1s/^curl \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  if [ "$via" = curl ] && [ "$st" = 200 ] && [ $((${1:-0} * 1000 + ${2:-0})) -ge 7055 ]; then
    printf 'X-aws-ec2-metadata-token: %s\n' "$(tr -cd 'A-Za-z0-9_=+/.-' <"$TMPD/b" | cut -c1-200)" >"$TMPD/get"
    imds_req GET /latest/meta-data/instance-id "$TMPD/get"
    line="$line get=$st get_ms=$ms"
  fi
  rm -f "$TMPD/get" "$TMPD/b"
  [ -z "$date_hdr" ] || line="$line local=$date_local date=$date_hdr"
  emit "$line"
fi

# --- ENA interfaces: link-local drops and the PHC error bound --------------------------------------
# IMDS, DNS and Amazon Time Sync share 1,024 packets/s per ENI; ENA >= 2.2.10 counts the excess it
# drops in linklocal_allowance_exceeded (reset at boot, hence uptime above). The ENA driver exposes
# the PTP hardware clock's error bound (ns) as phc_error_bound on the PCI device.
emit "[ena rc=0]"
has "$ETHTOOL" || emit "ethtool=missing"
en=0
for n in "$R"/sys/class/net/*; do
  d=$(readlink "$n/device/driver" 2>/dev/null) || continue
  [ "${d##*/}" = ena ] || continue
  en=$((en + 1))
  [ "$en" -le 8 ] || break
  i=${n##*/}
  ver=
  lla=unknown
  if has "$ETHTOOL" && [ $((BUDGET - ($(date +%s) - START))) -gt 0 ]; then
    # shellcheck disable=SC2086
    ver=$(run_to 1 $ETHTOOL -i "$i" 2>/dev/null </dev/null | sed -n 's/^version:[[:space:]]*//p' | head -n 1)
    # shellcheck disable=SC2086
    lla=$(run_to 1 $ETHTOOL -S "$i" 2>/dev/null </dev/null | sed -n 's/^[[:space:]]*linklocal_allowance_exceeded:[[:space:]]*\([0-9]*\).*/\1/p' | head -n 1)
    [ -n "$lla" ] || lla=unsupported
  fi
  [ -n "$ver" ] || ver=$(head -n 1 "$R/sys/module/ena/version" 2>/dev/null)
  line="$i driver=$(printf '%s' "${ver:-unknown}" | tr -cd 'A-Za-z0-9._-' | cut -c1-24) linklocal_allowance_exceeded=$lla"
  eb=$(head -n 1 "$n/device/phc_error_bound" 2>/dev/null | tr -cd '0-9' | cut -c1-15)
  [ -z "$eb" ] || line="$line phc_error_bound=$eb"
  emit "$line"
done
[ "$en" -gt 0 ] || emit "interfaces=none"

# --- time configuration: sources and leap settings in the files the daemon reads ------------------
# An Amazon source beside a non-Amazon one mixes leap-smeared and unsmeared time; leapsectz or a leap
# file with a smeared source applies the leap second on top of the smear. Only active files: the
# daemon's main file and what it includes (chrony include/confdir/sourcedir, ntpd includefile),
# at most 24 files; only the directive and its first word leave the host. Last of the sections:
# advisory only, so the first the size budget drops.
cf_n=0
: >"$TMPD/conf"
: >"$TMPD/seen"
conf_scan() {
  cs_d=$1
  shift
  printf '%s\n' "$@" >"$TMPD/q"
  while [ -s "$TMPD/q" ] && [ "$cf_n" -lt 24 ]; do
    cs_f=$(head -n 1 "$TMPD/q")
    tail -n +2 "$TMPD/q" >"$TMPD/q2" && mv "$TMPD/q2" "$TMPD/q"
    case $cs_f in /*) ;; *) continue ;; esac
    grep -qxF "$cs_f" "$TMPD/seen" && continue
    printf '%s\n' "$cs_f" >>"$TMPD/seen"
    if [ ! -f "$R$cs_f" ] || [ ! -r "$R$cs_f" ]; then continue; fi
    cf_n=$((cf_n + 1))
    # shellcheck disable=SC2016 # awk program
    awk -v d="$cs_d" '
      { sub(/[#!;].*/, ""); gsub(/[^ -~\t]/, "") }
      NF == 0 { next }
      d == "timesyncd" && /^[ \t]*(NTP|FallbackNTP)[ \t]*=/ { sub(/=/, " "); $1 = $1; print "out " d " " $0; next }
      d == "timesyncd" { next }
      { k = tolower($1) }
      k ~ /^(server|pool|peer|refclock|leapsectz|leapfile|leapseclist)$/ { print "out " d " " k " " $2; next }
      d == "chrony" && k == "include" { print "inc " $2; next }
      d == "chrony" && k == "confdir" { for (i = 2; i <= NF; i++) print "dir " $i " conf"; next }
      d == "chrony" && k == "sourcedir" { for (i = 2; i <= NF; i++) print "dir " $i " sources"; next }
      d == "ntpd" && k == "includefile" { print "inc " $2 }
    ' "$R$cs_f" 2>/dev/null | while read -r cs_k cs_a cs_b; do
      case $cs_k in
        out) printf '%s %s\n' "$cs_a" "$cs_b" | cut -c1-120 >>"$TMPD/conf" ;;
        inc)
          for cs_x in "$R"$cs_a; do [ -f "$cs_x" ] && printf '%s\n' "${cs_x#"$R"}" >>"$TMPD/q"; done
          ;;
        dir)
          for cs_x in "$R$cs_a"/*."$cs_b"; do [ -f "$cs_x" ] && printf '%s\n' "${cs_x#"$R"}" >>"$TMPD/q"; done
          ;;
      esac
    done
  done
}
case ",$daemons," in
  *,chronyd,*)
    # Debian builds chronyd with /etc/chrony/chrony.conf as its default.
    [ -n "$chrony_conf" ] || chrony_conf=/etc/chrony.conf
    [ -f "$R/etc/chrony.conf" ] || chrony_conf=$(printf '%s' "$chrony_conf" | sed 's#/etc/chrony.conf#/etc/chrony/chrony.conf#')
    # shellcheck disable=SC2086 # one word per configuration file
    conf_scan chrony $chrony_conf
    ;;
esac
case ",$daemons," in *,ntpd,* | *,ntpsec,*) conf_scan ntpd /etc/ntp.conf /etc/ntpsec/ntp.conf ;; esac
case ",$daemons," in
  *,systemd-timesyncd,*)
    # shellcheck disable=SC2046 # drop-ins after the main file, in name order, as systemd reads them
    conf_scan timesyncd /etc/systemd/timesyncd.conf $(for f in "$R"/etc/systemd/timesyncd.conf.d/*.conf; do [ -f "$f" ] && printf '%s\n' "${f#"$R"}"; done)
    ;;
esac
if [ "$cf_n" -gt 0 ]; then
  emit "[timeconf rc=0]"
  emit "files=$cf_n"
  awk '!seen[$0]++' "$TMPD/conf" | head -n 16 >>"$OUT"
fi

# --- size budget ----------------------------------------------------------------------------------
# SSM returns at most 2,500 characters of output inline: drop the least useful lines first
# (chrony/ntpq sources that are neither selected nor candidates, beyond a few) and say so.
# shrink BUDGET: the report without its end marker, at most about BUDGET characters.
shrink() {
  awk -v max="$1" '
    { line[NR] = $0; total += length($0) + 1 }
    /^TSG-CUT / { secof[NR] = ""; next }
    /^\[/ { sec = $0; sub(/^\[/, "", sec); sub(/ .*/, "", sec); secof[NR] = ""; next }
    { secof[NR] = sec }
    END {
      over = total + 40 - max
      # Pass 1: unusable chrony sources (state ?) and rejected ntpq rows beyond the first 3.
      for (i = 1; i <= NR && over > 0; i++) {
        s = secof[i]
        if ((s == "chrony-sources" && line[i] ~ /^.,[?x~],/) || (s == "ntpq" && line[i] ~ /^[ x.-][0-9a-f]/)) {
          seen[s]++
          if (seen[s] > 3) { drop[i] = 1; cut[s]++; over -= length(line[i]) + 1 }
        }
      }
      # Pass 2: any source row beyond the first 6 that is not selected.
      for (i = NR; i >= 1 && over > 0; i--) {
        s = secof[i]
        if (drop[i] || (s != "chrony-sources" && s != "ntpq")) continue
        if (line[i] ~ /^.\*/ || line[i] ~ /^\*/) continue
        n[s]++
      }
      for (i = NR; i >= 1 && over > 0; i--) {
        s = secof[i]
        if (drop[i] || (s != "chrony-sources" && s != "ntpq") || line[i] ~ /^.\*/ || line[i] ~ /^\*/) continue
        if (n[s] > 6) { drop[i] = 1; cut[s]++; n[s]--; over -= length(line[i]) + 1 }
      }
      # Pass 3 (should not happen in practice): drop lines from the end of the report.
      for (i = NR; i >= 1 && over > 0; i--) {
        if (drop[i] || i == 1 || line[i] ~ /^\[/ || secof[i] == "") continue
        drop[i] = 1; cut[secof[i]]++; over -= length(line[i]) + 1
      }
      for (i = 1; i <= NR; i++) if (!drop[i]) print line[i]
      for (s in cut) print "TSG-CUT " s " " cut[s]
    }
  ' "$OUT"
}

# --- compressed envelope --------------------------------------------------------------------------
# The report, gzip -9 + base64 on one line with its size and SHA-256 prefix (docs/guest-scripts.md,
# "Report envelope"): a report of several thousand characters then still fits the 2,500 characters
# SSM returns inline, so the check needs no second call for it. base64 is joined with tr, not -w0:
# busybox's base64 has no -w. Whatever is missing or fails (gzip, base64, sha256sum), the plain report
# is printed instead, which every reader accepts.
ENVELOPE_MAX=2400
# seal FILE: prints the envelope of FILE when it is at most ENVELOPE_MAX characters; else fails.
seal() {
  [ "${TSG_PLAIN:-}" != 1 ] && has gzip && has base64 && has sha256sum || return 1
  s_bytes=$(wc -c <"$1" | tr -d ' ') || return 1
  s_sum=$(sha256sum <"$1" | cut -c1-16) || return 1
  gzip -9 -n -c <"$1" >"$TMPD/report.gz" 2>/dev/null || return 1
  s_b64=$(base64 <"$TMPD/report.gz" 2>/dev/null | tr -d '\n\r') || return 1
  case $s_bytes in '' | *[!0-9]*) return 1 ;; esac
  case $s_sum in *[!0-9a-f]*) return 1 ;; esac
  case $s_b64 in '' | *[!A-Za-z0-9+/=]*) return 1 ;; esac
  [ "${#s_sum}" -eq 16 ] || return 1
  s_line="TSG-REPORT-GZ1 $s_bytes $s_sum $s_b64 TSG-END"
  [ "${#s_line}" -le "$ENVELOPE_MAX" ] || return 1
  printf '%s\n' "$s_line"
}
# report BUDGET: the shrunk report with its end marker, in $TMPD/plain.
report() {
  { shrink "$1" && echo "TSG-END"; } >"$TMPD/plain"
}
# Compressed, the report keeps far more sources; if even that does not fit, the plain budget applies.
if report "$SEALED_MAX_CHARS" && seal "$TMPD/plain"; then exit 0; fi
report "$MAX_CHARS" || exit 3
seal "$TMPD/plain" || cat "$TMPD/plain"
exit 0
