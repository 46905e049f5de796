#!/bin/sh
# timesync-guard collector for Linux (report format v1).
#
# Read-only: it changes nothing (one mktemp directory in $TMPDIR, removed on exit), opens no network connection (chronyc/ntpq talk to the local
# daemon only) and needs neither systemd nor bash. It prints one compact report on stdout that
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
if [ -d "$R/proc" ]; then
  # One grep over all comm files: only the processes we care about are looked at further.
  # shellcheck disable=SC2013 # /proc paths have no spaces; a pipe would lose the variables set in the loop
  for f in $(grep -lE '^(chronyd|ntpd|ntpsec|systemd-timesyn.*|openntpd|dockerd|containerd|containerd-shim.*|podman|conmon|kubelet|amazon-ecs-agen.*)$' "$R"/proc/[0-9]*/comm 2>/dev/null); do
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
      chronyd) add_daemon chronyd ;;
      ntpd)
        # OpenNTPD also calls itself ntpd; its children retitle themselves "ntpd: ntp engine".
        if tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -q 'ntpd: '; then add_daemon openntpd; else add_daemon ntpd; fi
        ;;
      ntpsec) add_daemon ntpsec ;;
      systemd-timesyn*) add_daemon systemd-timesyncd ;;
      openntpd) add_daemon openntpd ;;
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
