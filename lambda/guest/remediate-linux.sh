#!/bin/sh
# timesync-guard: point this Linux host's time daemon at the Amazon Time Sync Service.
#
# Runs as root, POSIX sh, idempotent. Run by hand:
#   npx timesync-guard remediation-script linux | sudo sh -s -- --dry-run true
# Options (`--name value`; an SSM document prepends `set -- ...`; an empty value means the default):
#   --dry-run true|false         report what would change, change nothing        (default false)
#   --endpoint auto|ipv4|ipv6    auto: IPv6 only when the host has no IPv4        (default auto)
#   --use-phc true|false         also add the ENA PTP hardware clock if present   (default false)
#   --install-chrony true|false  install chrony when no time daemon runs          (default false)
#   --step true|false            chronyc makestep when the offset is large        (default false)
#   --verify-seconds N           bounded wait for the Amazon source to be selected (default 60)
#   --fix-no-proxy true|false    add the IMDS addresses to NO_PROXY/no_proxy where a system-wide
#                                HTTP(S) proxy misses them (in the file that sets it)  (default false)
#   --fix-time-sync true|false   false: only the NO_PROXY step runs                    (default true)
# Every path and command can be overridden through TSG_* environment variables (tests use them);
# the defaults are right for Amazon Linux 2/2023, RHEL, Ubuntu/Debian and SUSE.
# Test hook: TSG_PAUSE_AT=<step> stops at that step (detect, no-proxy-write, plan, write, write-drop-in, apply,
# verify, step, stop-others), creates $TSG_PAUSE_FILE and waits for a signal.
# Interrupted (HUP/INT/TERM): every file written is restored from its backup (a new one removed),
# the daemon restarted if it had been, stopped daemons started again: `rolled-back` with
# reason=interrupted-<signal> (or `failed` ...-nothing-changed / ...-restore-incomplete).
# The last stdout line is always:
#   TSG-REMEDIATE v1 result=<...> daemon=<...> action=<...> reason=<...>
# With --fix-no-proxy true, an earlier line reports that step (results as below, same exit meaning):
#   TSG-NO-PROXY v1 result=<...> files=<comma-separated paths> reason=<...>
# Exit 0: already-compliant, changed, would-change, skipped. Exit 1: failed. Exit 2: rolled-back.
# What is changed and how to undo it by hand: README.md, "In-guest remediation".

ROOT=${TSG_ROOT:-}
CHRONYC=${TSG_CHRONYC:-chronyc}
CHRONYD=${TSG_CHRONYD:-chronyd}
NTPQ=${TSG_NTPQ:-ntpq}
TIMEDATECTL=${TSG_TIMEDATECTL:-timedatectl}
AMAZON_IPV4=${TSG_AMAZON_IPV4:-169.254.169.123}
AMAZON_IPV6=${TSG_AMAZON_IPV6:-fd00:ec2::123}
# The AWS-documented options; tests may shorten the polls, hosts never need to.
SERVER_OPTIONS=${TSG_SERVER_OPTIONS:-prefer iburst minpoll 4 maxpoll 4}
POLL_SECONDS=${TSG_POLL_SECONDS:-2}
# Step only when the clock is off by more than this (seconds) after the Amazon source is selected.
STEP_THRESHOLD=${TSG_STEP_THRESHOLD:-1.0}
DROPIN_NAME=aws-time-sync
STAMP=$(date -u +%Y%m%dT%H%M%SZ)

OUT_LEN=0
OUT_TRUNCATED=0
DAEMON=unknown
WORK=""
STEP_NAME=preflight
APPLIED=""        # set once the daemon was restarted/reloaded onto a changed config
STOPPED_UNITS=""  # other daemons stopped (and disabled) by this run, space-separated

# SSM keeps only the first 2,500 characters of stdout: progress is capped well below that so
# the final machine-readable line always survives.
say() {
  _line="tsg: $*"
  _n=${#_line}
  if [ $((OUT_LEN + _n + 1)) -le 2000 ]; then
    printf '%s\n' "$_line"
    OUT_LEN=$((OUT_LEN + _n + 1))
  elif [ "$OUT_TRUNCATED" = 0 ]; then
    printf '%s\n' 'tsg: ... (further progress lines omitted)'
    OUT_TRUNCATED=1
  fi
}

# First line of a command's output, shortened, for progress lines.
first_line() {
  printf '%s\n' "$1" | sed -n '/./{p;q;}' | cut -c1-160
}

token() {
  printf '%s' "$1" | tr -c 'A-Za-z0-9._~-' '-' | cut -c1-80
}

cleanup() {
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then rm -rf "$WORK"; fi
}

finish() {
  # The outcome is decided: a signal now must not undo it nor print a second result line.
  trap '' HUP INT TERM
  _result=$1 _action=$2 _reason=$3
  cleanup
  printf 'TSG-REMEDIATE v1 result=%s daemon=%s action=%s reason=%s\n' \
    "$_result" "$DAEMON" "$(token "$_action")" "$(token "$_reason")"
  case "$_result" in
    already-compliant | changed | would-change | skipped) exit 0 ;;
    rolled-back) exit 2 ;;
    *) exit 1 ;;
  esac
}

# A named point of the run: what an interruption reports, and where TSG_PAUSE_AT stops (tests).
checkpoint() {
  STEP_NAME=$1
  [ "${TSG_PAUSE_AT:-}" = "$1" ] || return 0
  : >"${TSG_PAUSE_FILE:-${TMPDIR:-/tmp}/tsg-remediate.paused}"
  while :; do sleep 0.1; done
}

# Undo whatever this run changed, then report the interruption. Never leaves a half-applied config.
# shellcheck disable=SC2317 # reached through the traps below
on_signal() {
  trap '' HUP INT TERM
  _sig=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')
  say "interrupted by SIG$1 at step $STEP_NAME"
  if [ -z "$BACKUPS" ] && [ -z "$APPLIED" ] && [ -z "$STOPPED_UNITS" ]; then
    finish failed "$STEP_NAME" "interrupted-$_sig-nothing-changed"
  fi
  _undo=0
  restore_files || _undo=1
  if [ -n "$APPLIED" ]; then
    say "restarting $DAEMON on the restored config"
    reapply_restored || { _undo=1; say "ERROR: $DAEMON did not come back on the restored config"; }
  fi
  for _u in $STOPPED_UNITS; do
    svc enable "$_u" || say "warning: could not enable $_u again"
    if svc start "$_u"; then say "started $_u again"; else _undo=1; say "ERROR: could not start $_u again"; fi
  done
  [ "$_undo" = 0 ] && finish rolled-back "$STEP_NAME" "interrupted-$_sig"
  finish failed "$STEP_NAME" "interrupted-$_sig-restore-incomplete"
}

trap cleanup EXIT
trap 'on_signal HUP' HUP
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

# ---------------------------------------------------------------- options
DRY_RUN=false
ENDPOINT=auto
USE_PHC=false
INSTALL_CHRONY=false
STEP=false
VERIFY_SECONDS=60
FIX_NO_PROXY=false
FIX_TIME_SYNC=true
FIX_MIXED=false

lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

# Sets the named variable from a true/false option value ('' keeps the default).
bool_opt() {
  case "$(lower "$3")" in
    true | yes | 1) eval "$1=true" ;;
    false | no | 0) eval "$1=false" ;;
    '') ;;
    *) finish failed parse-options "bad-value-for-$2" ;;
  esac
}

while [ $# -gt 0 ]; do
  case "$1" in
    --*=*) _opt=${1%%=*} _val=${1#*=}; shift ;;
    --*)
      [ $# -ge 2 ] || finish failed parse-options "missing-value-for-$1"
      _opt=$1 _val=$2; shift 2 ;;
    *) finish failed parse-options "unexpected-argument" ;;
  esac
  case "$_opt" in
    --dry-run) bool_opt DRY_RUN dry-run "$_val" ;;
    --use-phc) bool_opt USE_PHC use-phc "$_val" ;;
    --install-chrony) bool_opt INSTALL_CHRONY install-chrony "$_val" ;;
    --step) bool_opt STEP step "$_val" ;;
    --fix-no-proxy) bool_opt FIX_NO_PROXY fix-no-proxy "$_val" ;;
    --fix-time-sync) bool_opt FIX_TIME_SYNC fix-time-sync "$_val" ;;
    --fix-mixed-sources) bool_opt FIX_MIXED fix-mixed-sources "$_val" ;;
    --endpoint)
      case "$(lower "$_val")" in
        '' | auto) ENDPOINT=auto ;;
        ipv4 | ipv6) ENDPOINT=$(lower "$_val") ;;
        *) finish failed parse-options bad-value-for-endpoint ;;
      esac ;;
    --verify-seconds)
      case "$_val" in
        '') VERIFY_SECONDS=60 ;;
        *[!0-9]*) finish failed parse-options bad-value-for-verify-seconds ;;
        *)
          if [ "${#_val}" -gt 4 ] || [ "$_val" -lt 1 ] || [ "$_val" -gt 3600 ]; then
            finish failed parse-options bad-value-for-verify-seconds
          fi
          VERIFY_SECONDS=$_val ;;
      esac ;;
    *) finish failed parse-options "unknown-option-$_opt" ;;
  esac
done

say "options: dry-run=$DRY_RUN endpoint=$ENDPOINT use-phc=$USE_PHC install-chrony=$INSTALL_CHRONY step=$STEP verify-seconds=$VERIFY_SECONDS fix-no-proxy=$FIX_NO_PROXY fix-time-sync=$FIX_TIME_SYNC fix-mixed-sources=$FIX_MIXED"

if [ "$DRY_RUN" = false ] && [ "$(id -u)" != 0 ] && [ -z "${TSG_ALLOW_NON_ROOT:-}" ]; then
  finish failed preflight must-run-as-root
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tsg-remediate.XXXXXX") || finish failed preflight no-temp-dir
checkpoint detect

# ---------------------------------------------------------------- services
# One entry point for the service manager, so a test (or an unusual host) can supply a shim:
# TSG_SERVICE_CMD is called as `<cmd> is-active|start|stop|restart|enable|disable <unit>`.
have() { command -v "$1" >/dev/null 2>&1; }

svc() {
  if [ -n "${TSG_SERVICE_CMD:-}" ]; then
    sh -c "$TSG_SERVICE_CMD \"\$1\" \"\$2\"" tsg-service "$1" "$2" >/dev/null 2>&1
    return $?
  fi
  if have systemctl && [ -d /run/systemd/system ]; then
    case "$1" in
      is-active) systemctl is-active --quiet "$2" ;;
      *) systemctl "$1" "$2" >/dev/null 2>&1 ;;
    esac
    return $?
  fi
  # No systemd: SysV/OpenRC hosts, containers.
  case "$1" in
    is-active)
      case "$2" in
        chronyd | chrony) pgrep -x chronyd >/dev/null 2>&1 ;;
        ntpd | ntp | ntpsec) [ -e "/etc/init.d/$2" ] && pgrep -x ntpd >/dev/null 2>&1 ;;
        *) pgrep -x "$2" >/dev/null 2>&1 ;;
      esac ;;
    enable | disable)
      if have chkconfig; then chkconfig "$2" "$([ "$1" = enable ] && echo on || echo off)" >/dev/null 2>&1
      elif have update-rc.d; then update-rc.d "$2" "$1" >/dev/null 2>&1
      elif have rc-update; then rc-update "$([ "$1" = enable ] && echo add || echo del)" "$2" >/dev/null 2>&1
      else return 1; fi ;;
    *) service "$2" "$1" >/dev/null 2>&1 ;;
  esac
}

words() { printf '%s' "$*"; }

# First active unit of a daemon family, or nothing. Under systemd the alias is resolved to the
# real unit (Debian: chronyd -> chrony.service), since `systemctl disable` refuses aliases.
active_unit() {
  for _u in "$@"; do
    if svc is-active "$_u"; then
      if [ -z "${TSG_SERVICE_CMD:-}" ] && have systemctl && [ -d /run/systemd/system ]; then
        _id=$(systemctl show -p Id "$_u" 2>/dev/null)
        _id=${_id#Id=}
        [ -n "$_id" ] && _u=$_id
      fi
      printf '%s' "$_u"
      return 0
    fi
  done
  return 1
}

# ---------------------------------------------------------------- endpoint
has_ipv4() {
  have ip || return 0
  [ -n "$(ip -4 route show default 2>/dev/null)" ] && return 0
  ip -4 addr show scope global 2>/dev/null | grep -q inet
}

case "$ENDPOINT" in
  ipv4) EP=$AMAZON_IPV4 ;;
  ipv6) EP=$AMAZON_IPV6 ;;
  auto) if has_ipv4; then EP=$AMAZON_IPV4; else EP=$AMAZON_IPV6; fi ;;
esac

# The ENA PTP hardware clock: the udev symlink where it exists, else the ptp device whose
# clock_name says ena (not every AMI ships the udev rule).
find_phc() {
  if [ -n "${TSG_PTP_DEVICE:-}" ]; then
    [ -e "$TSG_PTP_DEVICE" ] && printf '%s' "$TSG_PTP_DEVICE"
    return
  fi
  if [ -e "$ROOT/dev/ptp_ena" ]; then printf '%s' /dev/ptp_ena; return; fi
  for _c in "$ROOT"/sys/class/ptp/ptp*/clock_name; do
    [ -r "$_c" ] || continue
    if grep -qi ena "$_c"; then
      _d=${_c%/clock_name}
      printf '/dev/%s' "${_d##*/}"
      return
    fi
  done
}

PHC_DEV=""
if [ "$USE_PHC" = true ]; then
  PHC_DEV=$(find_phc)
  if [ -n "$PHC_DEV" ]; then say "PTP hardware clock: $PHC_DEV"; else say "no ENA PTP hardware clock here; NTP endpoint only"; fi
fi
say "Amazon endpoint: $EP"

# ---------------------------------------------------------------- detection
if [ -r "$ROOT/etc/os-release" ] && grep -q '^ID=\"\{0,1\}bottlerocket' "$ROOT/etc/os-release"; then
  say "Bottlerocket: time servers are set through the settings API (settings.ntp.time-servers), not files"
  finish skipped report-only bottlerocket-settings-api
fi

CHRONY_UNIT=$(active_unit chronyd chrony)
NTP_UNIT=$(active_unit ntpd ntp ntpsec)
TIMESYNCD_UNIT=$(active_unit systemd-timesyncd)
OPENNTPD_UNIT=$(active_unit openntpd)
say "active daemons: chrony=${CHRONY_UNIT:--} ntp=${NTP_UNIT:--} timesyncd=${TIMESYNCD_UNIT:--} openntpd=${OPENNTPD_UNIT:--}"

# ---------------------------------------------------------------- file helpers
BACKUPS=""        # lines "target<TAB>backup-or-dash", for rollback
TAB=$(printf '\t')

# Put a validated candidate in place, keeping a timestamped backup of what was there.
# Recorded for rollback BEFORE the write: a signal between two commands still finds it.
install_file() {
  _cand=$1 _target=$2
  if [ -e "$_target" ]; then
    _bak="$_target.tsg-backup.$STAMP"
    cp -p "$_target" "$_bak" || return 1
    say "backup: $_bak"
    BACKUPS="$BACKUPS$_target$TAB$_bak
"
    # cat keeps the target's owner, mode and SELinux label.
    cat "$_cand" >"$_target" || return 1
  else
    BACKUPS="$BACKUPS$_target$TAB-
"
    mkdir -p "$(dirname "$_target")" && cp "$_cand" "$_target" && chmod 0644 "$_target" || return 1
  fi
  say "wrote: $_target"
}

# Writes every backup back (byte for byte, checked) and removes files that did not exist.
# Returns non-zero if any file could not be restored.
restore_files() {
  _rf=0
  _ifs=$IFS
  IFS='
'
  set -f
  for _e in $BACKUPS; do
    _t=${_e%%"$TAB"*} _b=${_e#*"$TAB"}
    [ -n "$_t" ] || continue
    if [ "$_b" = - ]; then
      if rm -f "$_t"; then say "removed: $_t"; else _rf=1; say "ERROR: could not remove $_t"; fi
    elif cat "$_b" >"$_t" && cmp -s "$_b" "$_t"; then say "restored: $_t from $_b"
    else _rf=1; say "ERROR: could not restore $_t: copy $_b back by hand"; fi
  done
  set +f
  IFS=$_ifs
  return $_rf
}

# After restore_files: make the daemon run on the restored config again.
# shellcheck disable=SC2317 # reached through on_signal
reapply_restored() {
  case "$DAEMON" in
    chrony) if [ "${MAIN_CHANGED:-1}" = 1 ]; then restart_chrony; else reload_chrony_sources || restart_chrony; fi ;;
    systemd-timesyncd) svc restart "$TIMESYNCD_UNIT" ;;
    ntpd) svc restart "$NTP_UNIT" ;;
    *) return 1 ;;
  esac
}

# ---------------------------------------------------------------- NO_PROXY (opt-in)
# A system-wide HTTP(S) proxy whose NO_PROXY misses 169.254.169.254 sends SDK credential requests
# to the proxy. The files are the ones the collector reads; each is edited where it sets the proxy
# (or NO_PROXY), never elsewhere. Running processes keep their environment: services see the
# change at their next restart (DefaultEnvironment: after `systemctl daemon-reexec` or a reboot).
NP_ADDRS=169.254.169.254,169.254.170.2,fd00:ec2::254

np_files() {
  for _f in "$ROOT/etc/environment" "$ROOT"/etc/profile.d/*.sh "$ROOT/etc/systemd/system.conf" "$ROOT"/etc/systemd/system.conf.d/*.conf; do
    [ -f "$_f" ] && [ -r "$_f" ] && printf '%s\n' "$_f"
  done
}

np_kind() {
  case "$1" in
    */etc/environment) printf env ;;
    */etc/profile.d/*) printf profile ;;
    *) printf systemd ;;
  esac
}

# One awk for every mode, so detection, edit and validation read assignments the same way:
#   detect (many files): "proxy <file>", "noproxy <file>", "covered" (some NO_PROXY covers IMDS)
#   edit (one file, read twice): the file with the addresses appended to each NO_PROXY/no_proxy
#     and, in a file that sets the proxy, the missing one of the two added after the proxy line
#   dump (one file): "name<TAB>value" per assignment, quotes removed
#   check (one file): exit 1 unless every NO_PROXY/no_proxy has the addresses (and, with
#     proxyfile=1, both names are set)
# Kinds: env (pam_env: NAME=value to the end of the line), profile (sh: [export] NAME=word...),
# systemd (DefaultEnvironment= space-separated, optionally quoted, words).
np_awk() {
  _m=$1 _k=$2 _pf=$3
  shift 3
  awk -v mode="$_m" -v kind="$_k" -v addrs="$NP_ADDRS" -v proxyfile="$_pf" '
    function kindof(f) { return kind != "" ? kind : f ~ /\/etc\/environment$/ ? "env" : f ~ /\/profile\.d\// ? "profile" : "systemd" }
    function isblank(c) { return c == " " || c == "\t" }
    function scan(line, k,    i, n, c, q, st, en, body, lead, v) {
      NA = 0
      if (line ~ /^[ \t]*#/ || (k == "systemd" && line ~ /^[ \t]*;/)) return 0
      if (k == "systemd") {
        if (!match(line, /^[ \t]*DefaultEnvironment[ \t]*=/)) return 0
        i = RLENGTH + 1
      } else if (match(line, /^[ \t]*export[ \t]+/)) i = RLENGTH + 1
      else i = 1
      n = length(line)
      while (i <= n) {
        while (i <= n && isblank(substr(line, i, 1))) i++
        if (i > n) break
        st = i
        if (k == "env") {
          en = n
          while (en > st && isblank(substr(line, en, 1))) en--
          i = n + 1
        } else {
          q = ""
          for (; i <= n; i++) {
            c = substr(line, i, 1)
            if (q != "") { if (c == q) q = ""; continue }
            if (c == "\"" || c == "\047") { q = c; continue }
            if (isblank(c) || (k == "profile" && (c == ";" || c == "&" || c == "|"))) break
          }
          en = i - 1
        }
        body = substr(line, st, en - st + 1)
        lead = 0
        if (k == "systemd" && substr(body, 1, 1) == "\"") { body = substr(body, 2); lead = 1 }
        if (!match(body, /^[A-Za-z_][A-Za-z0-9_]*=/)) { if (k == "profile") break; continue }
        NA++
        AN[NA] = substr(body, 1, RLENGTH - 1)
        AV[NA] = st + lead + RLENGTH
        v = substr(line, AV[NA], en - AV[NA] + 1)
        AQ[NA] = substr(v, 1, 1) == "\"" || substr(v, 1, 1) == "\047" || lead
        gsub(/["\047]/, "", v)
        AS[NA] = v
        c = substr(line, en, 1)
        AI[NA] = (en >= AV[NA] && (c == "\"" || c == "\047")) ? en : en + 1
        if (k == "profile" && i <= n && substr(line, i, 1) != " " && substr(line, i, 1) != "\t") break
      }
      return NA
    }
    function isnp(nm) { return tolower(nm) == "no_proxy" }
    function isproxy(nm) { nm = tolower(nm); return nm == "http_proxy" || nm == "https_proxy" }
    function ip2n(a,    p) { if (split(a, p, ".") != 4) return -1; return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4] }
    function covers(v,    e, n, i, x, c, bits, size) {
      n = split(v, e, /[, \t]+/)
      for (i = 1; i <= n; i++) {
        x = e[i]
        if (x == "*" || x == "169.254.169.254") return 1
        if (x ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\/[0-9]+$/) {
          split(x, c, "/"); bits = c[2] + 0
          if (bits > 32) continue
          size = 2 ^ (32 - bits)
          if (int(ip2n(c[1]) / size) == int(ip2n("169.254.169.254") / size)) return 1
        }
      }
      return 0
    }
    function missing(v,    have, e, n, i, a, out) {
      n = split(v, e, /[, \t]+/)
      for (i = 1; i <= n; i++) have[e[i]] = 1
      n = split(addrs, a, ",")
      out = ""
      for (i = 1; i <= n; i++) if (!(a[i] in have)) out = out (out == "" ? "" : ",") a[i]
      return out
    }
    function joined(v,    m) { m = missing(v); return m == "" ? v : v ~ /^$|,[ \t]*$/ ? v m : v "," m }
    function appended(line,    j, m, out) {
      out = line
      for (j = NA; j >= 1; j--) {
        if (AN[j] != "NO_PROXY" && AN[j] != "no_proxy") continue
        m = missing(AS[j])
        if (m == "") continue
        if (AS[j] != "" && AS[j] !~ /,[ \t]*$/) m = "," m
        out = substr(out, 1, AI[j] - 1) m substr(out, AI[j])
      }
      return out
    }
    mode == "detect" {
      k = kindof(FILENAME)
      scan($0, k)
      for (j = 1; j <= NA; j++) {
        if (isproxy(AN[j]) && AS[j] != "") P[FILENAME] = 1
        if (isnp(AN[j])) { NP[FILENAME] = 1; if (covers(AS[j])) cov = 1 }
      }
      next
    }
    mode == "dump" { scan($0, kind); for (j = 1; j <= NA; j++) print AN[j] "\t" AS[j]; next }
    mode == "check" {
      scan($0, kind)
      for (j = 1; j <= NA; j++) if (AN[j] == "NO_PROXY" || AN[j] == "no_proxy") { seen[AN[j]] = 1; if (missing(AS[j]) != "") bad = 1 }
      next
    }
    # edit, first pass: where the proxy is set, which of the two names exist, their values.
    NR == FNR {
      scan($0, kind)
      for (j = 1; j <= NA; j++) {
        if (isproxy(AN[j]) && AS[j] != "") { last = FNR; pq = AQ[j] }
        if (AN[j] == "NO_PROXY" || AN[j] == "no_proxy") { has[AN[j]] = 1; val[AN[j]] = AS[j]; vq[AN[j]] = AQ[j] }
      }
      next
    }
    {
      scan($0, kind)
      out = appended($0)
      if (FNR == last) {
        for (t = 1; t <= 2; t++) {
          nm = t == 1 ? "NO_PROXY" : "no_proxy"
          if (nm in has) continue
          other = t == 1 ? "no_proxy" : "NO_PROXY"
          nv = (other in has) ? joined(val[other]) : addrs
          # The other name is copied whole (tools read one or the other): only a plain value can be.
          if (nv ~ /[$`\\"\047]/) { unplain = 1; exit 3 }
          qt = pq || vq[other] || nv ~ /[ \t]/
          w = nm "=" (qt && kind != "systemd" ? "\"" nv "\"" : nv)
          if (kind == "systemd") out = out " " (qt ? "\"" w "\"" : w)
          else extra = extra (kind == "profile" ? "export " : "") w "\n"
        }
      }
      printf "%s\n%s", out, extra
      extra = ""
    }
    END {
      if (mode == "detect") {
        for (f in P) print "proxy\t" f
        for (f in NP) print "noproxy\t" f
        if (cov) print "covered"
      }
      if (mode == "check" && (bad || (proxyfile && !(("NO_PROXY" in seen) && ("no_proxy" in seen))))) exit 1
      if (unplain) exit 3
    }
  ' "$@"
}

# The step's own result line, before the final one (and counted in the 2,000-character budget).
np_finish() {
  _files=$(printf '%s' "$2" | sed "s#$ROOT/#/#g" | tr -c 'A-Za-z0-9._~/,:-' '-' | cut -c1-300)
  _line="TSG-NO-PROXY v1 result=$1 files=$_files reason=$(token "$3")"
  printf '%s\n' "$_line"
  OUT_LEN=$((OUT_LEN + ${#_line} + 1))
  NP_RESULT=$1
}

np_detect() {
  np_files >"$WORK/np.files"
  [ -s "$WORK/np.files" ] || return 0
  # Paths hold no newline (they come from globs under /etc); xargs would split on blanks.
  _ifs=$IFS
  IFS='
'
  set -f
  # shellcheck disable=SC2046 # one argument per line of the list
  np_awk detect "" 0 $(cat "$WORK/np.files")
  set +f
  IFS=$_ifs
}

# Validates a candidate of one file: assignments other than NO_PROXY/no_proxy read back exactly as
# before, every NO_PROXY/no_proxy carries the addresses, and a profile.d script still parses.
np_validate() {
  _cand=$1 _orig=$2 _kind=$3 _pf=$4
  np_awk dump "$_kind" 0 "$_orig" | grep -v '^[Nn][Oo]_[Pp][Rr][Oo][Xx][Yy]	' >"$WORK/np.before"
  np_awk dump "$_kind" 0 "$_cand" | grep -v '^[Nn][Oo]_[Pp][Rr][Oo][Xx][Yy]	' >"$WORK/np.after"
  cmp -s "$WORK/np.before" "$WORK/np.after" || { say "no-proxy: other assignments would change in $_orig"; return 1; }
  np_awk check "$_kind" "$_pf" "$_cand" || { say "no-proxy: NO_PROXY does not read back complete from the candidate of $_orig"; return 1; }
  # sh's message can quote the file's text (a proxy password, say): only its line number is printed.
  if [ "$_kind" = profile ] && ! _v=$(sh -n "$_cand" 2>&1); then
    say "no-proxy: $_orig would not parse (sh -n, line $(printf '%s\n' "$_v" | sed -n 's/^[^:]*: \([0-9][0-9]*\):.*/\1/p;s/.*line \([0-9][0-9]*\).*/\1/p' | head -n 1))"
    return 1
  fi
}

fix_no_proxy() {
  STEP_NAME=no-proxy
  _d=$(np_detect)
  _proxy=$(printf '%s\n' "$_d" | sed -n 's/^proxy	//p' | sort)
  if [ -z "$_proxy" ]; then np_finish already-compliant "" no-system-proxy; return; fi
  _plist=$(printf '%s' "$_proxy" | tr '\n' ',')
  if printf '%s\n' "$_d" | grep -qx covered; then
    say "no-proxy: a system-wide proxy is set and NO_PROXY already covers 169.254.169.254"
    np_finish already-compliant "$_plist" imds-covered
    return
  fi
  # The files that set the proxy, and any other that sets NO_PROXY (it may override ours).
  _targets=$(printf '%s\n' "$_d" | sed -n -e 's/^proxy	//p' -e 's/^noproxy	//p' | sort -u)
  _ni=0 _changed=""
  _ifs=$IFS
  IFS='
'
  set -f
  for _f in $_targets; do
    _ni=$((_ni + 1))
    _k=$(np_kind "$_f")
    _pf=0
    printf '%s\n' "$_proxy" | grep -qxF "$_f" && _pf=1
    np_awk edit "$_k" 0 "$_f" "$_f" >"$WORK/np.cand.$_ni"
    case $? in
      0) ;;
      3) IFS=$_ifs; set +f; np_finish failed "$_f" no-proxy-value-not-plain; return ;;
      *) IFS=$_ifs; set +f; np_finish failed "$_f" edit-failed; return ;;
    esac
    cmp -s "$WORK/np.cand.$_ni" "$_f" && continue
    if ! np_validate "$WORK/np.cand.$_ni" "$_f" "$_k" "$_pf"; then
      IFS=$_ifs; set +f; np_finish failed "$_f" candidate-invalid; return
    fi
    say "no-proxy: add $NP_ADDRS to NO_PROXY/no_proxy in ${_f#"$ROOT"}"
    _changed="$_changed$_ni	$_f
"
  done
  IFS=$_ifs
  set +f
  _clist=$(printf '%s' "$_changed" | cut -f2 | tr '\n' ',')
  _clist=${_clist%,}
  if [ -z "$_changed" ]; then np_finish failed "$_plist" no-editable-assignment; return; fi
  if [ "$DRY_RUN" = true ]; then np_finish would-change "$_clist" dry-run; return; fi

  # Backups and rollback are the file helpers', on a list of their own: once verified, a later
  # time-sync rollback must not undo this step.
  _saved=$BACKUPS
  BACKUPS=""
  _why=""
  _ifs=$IFS
  IFS='
'
  set -f
  for _e in $_changed; do
    _ni=${_e%%"$TAB"*} _f=${_e#*"$TAB"}
    install_file "$WORK/np.cand.$_ni" "$_f" || { _why=write-failed; break; }
    checkpoint no-proxy-write
  done
  if [ -z "$_why" ]; then
    for _e in $_changed; do
      _ni=${_e%%"$TAB"*} _f=${_e#*"$TAB"}
      cmp -s "$WORK/np.cand.$_ni" "$_f" || { _why=read-back-differs; break; }
    done
  fi
  IFS=$_ifs
  set +f
  if [ -z "$_why" ] && ! np_detect | grep -qx covered; then _why=still-not-covered; fi
  if [ -n "$_why" ]; then
    say "no-proxy: rolling back: $_why"
    if restore_files; then np_finish rolled-back "$_clist" "$_why"; else np_finish failed "$_clist" "$_why-restore-incomplete"; fi
  else
    say "no-proxy: verified; running services see it at their next restart, new logins at once"
    case "$_clist" in *systemd*) say "no-proxy: systemd reads DefaultEnvironment at daemon-reexec or reboot" ;; esac
    np_finish changed "$_clist" services-pick-it-up-at-next-restart
  fi
  BACKUPS=$_saved
}

# ---------------------------------------------------------------- other daemons
# Several daemons fight over the clock; the kept one wins only after it is verified.
OTHERS_STOPPED=""
stop_others() {
  # shellcheck disable=SC2086 # OTHERS holds single-word unit names
  for _u in $OTHERS; do
    [ -n "$_u" ] || continue
    if [ "$DRY_RUN" = true ]; then say "would stop and disable $_u"; continue; fi
    # Recorded before the call: an interruption during it starts the unit again.
    STOPPED_UNITS="$STOPPED_UNITS $_u"
    if svc stop "$_u"; then
      svc disable "$_u" || say "warning: could not disable $_u"
      say "stopped and disabled $_u"
      OTHERS_STOPPED="$OTHERS_STOPPED${OTHERS_STOPPED:+-}$_u"
    else
      say "could not stop $_u"
      finish failed stop-others "could-not-stop-$_u"
    fi
  done
  checkpoint stop-others
}

# ---------------------------------------------------------------- chrony
chrony_sources() { $CHRONYC -n -c sources 2>/dev/null; }

# A selected (`*`) source that is the Amazon endpoint or a PHC refclock.
chrony_amazon_selected() {
  chrony_sources | awk -F, -v a="$AMAZON_IPV4" -v b="$AMAZON_IPV6" \
    '$2 == "*" && ($3 == a || $3 == b || $3 ~ /^PHC/) { f = 1 } END { exit !f }'
}

chrony_amazon_loaded() {
  chrony_sources | awk -F, -v a="$AMAZON_IPV4" -v b="$AMAZON_IPV6" \
    '$3 == a || $3 == b { f = 1 } END { exit !f }'
}

# Every file chronyd reads sources from: the main config, include/confdir *.conf, sourcedir *.sources.
chrony_config_files() {
  printf '%s\n' "$CONF"
  awk '$1 == "include" || $1 == "confdir" || $1 == "sourcedir" { print $1, $2 }' "$CONF" |
    while read -r _k _p; do
      case "$_k" in
        include) for _f in $_p; do [ -f "$_f" ] && printf '%s\n' "$_f"; done ;;
        confdir) for _f in "$_p"/*.conf; do [ -f "$_f" ] && printf '%s\n' "$_f"; done ;;
        sourcedir) for _f in "$_p"/*.sources; do [ -f "$_f" ] && printf '%s\n' "$_f"; done ;;
      esac
    done
}

chrony_amazon_in_files() {
  chrony_config_files | while read -r _f; do
    awk -v a="$AMAZON_IPV4" -v b="$AMAZON_IPV6" \
      '($1 == "server" || $1 == "pool" || $1 == "peer") && ($2 == a || $2 == b) { f = 1 } END { exit !f }' "$_f" &&
      { printf '%s\n' "$_f"; break; }
  done | grep -q .
}

# A sourcedir under /etc survives reboots; /run ones are refilled by DHCP hooks and generators.
persistent_sourcedir() {
  awk '$1 == "sourcedir" { print $2 }' "$CONF" | while read -r _d; do
    case "$_d" in
      "$ROOT"/etc/*) if [ -d "$_d" ]; then printf '%s' "$_d"; break; fi ;;
    esac
  done
}

chrony_validate() {
  _v=$($CHRONYD -p -f "$1" 2>&1 >/dev/null)
  _rc=$?
  if [ $_rc -ne 0 ]; then
    say "validation failed ($_rc): $(first_line "$_v")"
    return 1
  fi
}

restart_chrony() {
  if [ -n "${TSG_RESTART_CHRONY:-}" ]; then sh -c "$TSG_RESTART_CHRONY" >/dev/null 2>&1
  else svc restart "$CHRONY_UNIT"; fi
}

reload_chrony_sources() {
  if [ -n "${TSG_RELOAD_CHRONY:-}" ]; then sh -c "$TSG_RELOAD_CHRONY" >/dev/null 2>&1
  else $CHRONYC reload sources >/dev/null 2>&1; fi
}

wait_chrony_selected() {
  checkpoint verify
  _deadline=$(($(date +%s) + VERIFY_SECONDS))
  while :; do
    if chrony_amazon_selected; then return 0; fi
    [ "$(date +%s)" -ge "$_deadline" ] && return 1
    sleep "$POLL_SECONDS"
  done
}

STEP_NOTE=""
chrony_step_if_needed() {
  [ "$STEP" = true ] || return 0
  checkpoint step
  _off=$($CHRONYC -c tracking 2>/dev/null | awk -F, '{ print $5 }')
  if [ -z "$_off" ]; then say "step: no tracking data"; return 0; fi
  if awk -v o="$_off" -v t="$STEP_THRESHOLD" 'BEGIN { if (o < 0) o = -o; exit !(o > t) }'; then
    if $CHRONYC makestep >/dev/null 2>&1; then say "stepped the clock (offset was ${_off}s)"; STEP_NOTE=stepped
    else say "warning: chronyc makestep refused (offset ${_off}s)"; STEP_NOTE=step-refused; fi
  else
    say "offset ${_off}s within ${STEP_THRESHOLD}s: no step"
  fi
}

# mix_candidate ADDING LINES: $MAIN_CAND from $CONF with LINES added ahead of the first source
# (when ADDING), leap files and sources that do not smear commented out; $MIXED = how many sources.
mix_candidate() {
  MAIN_CAND="$WORK/main.conf"
  awk -v lines="$2" -v adding="$1" -v a="$AMAZON_IPV4" -v b="$AMAZON_IPV6" '
    BEGIN { block = "# Amazon Time Sync Service (added by timesync-guard)\n" lines }
    adding && !done && ($1 == "server" || $1 == "pool" || $1 == "peer") { print block; done = 1 }
    $1 ~ /^leaps(ectz|eclist)$/ || (($1 == "server" || $1 == "pool" || $1 == "peer") && $2 != a && $2 != b && $2 != "time.aws.com") {
      print "# timesync-guard: disabled, not for a leap-smeared source"
      print "#" $0
      next
    }
    { print }
    END { if (adding && !done) print block }
  ' "$CONF" >"$MAIN_CAND" || finish failed build-candidate awk-failed
  MIXED=$(($(grep -c '^# timesync-guard: disabled, not' "$MAIN_CAND") - $(grep -c '^# timesync-guard: disabled, not' "$CONF")))
}

# On a host already on Amazon: the mix out of the main config, verified, else rolled back.
fix_mixed() {
  say "plan: comment out $MIXED leap file or unsmeared source line(s) in $CONF"
  chrony_validate "$MAIN_CAND" || finish failed validate main-config-invalid
  [ "$DRY_RUN" = true ] && finish would-change remove-mixed-sources dry-run
  checkpoint plan
  install_file "$MAIN_CAND" "$CONF" || { restore_files; finish failed write write-failed; }
  checkpoint write
  APPLIED=1
  if restart_chrony && wait_chrony_selected; then
    stop_others
    finish changed remove-mixed-sources "$MIXED-lines"
  fi
  restore_files
  restart_chrony || say "warning: chronyd did not come back"
  finish rolled-back remove-mixed-sources "not-selected-within-${VERIFY_SECONDS}s"
}

remediate_chrony() {
  DAEMON=chrony
  # shellcheck disable=SC2086 # unit names are single words; empty ones vanish
  OTHERS=$(words $NTP_UNIT $TIMESYNCD_UNIT $OPENNTPD_UNIT)
  if [ -n "${TSG_CHRONY_CONF:-}" ]; then CONF=$TSG_CHRONY_CONF
  elif [ -f "$ROOT/etc/chrony.conf" ]; then CONF=$ROOT/etc/chrony.conf
  elif [ -f "$ROOT/etc/chrony/chrony.conf" ]; then CONF=$ROOT/etc/chrony/chrony.conf
  else finish failed find-config chrony-conf-not-found; fi
  [ -r "$CONF" ] || finish failed find-config "chrony-conf-unreadable"
  say "chrony config: $CONF"

  if chrony_amazon_selected; then
    say "chrony already selects the Amazon source"
    if [ "$FIX_MIXED" = true ]; then
      mix_candidate 0 ""
      [ "$MIXED" -gt 0 ] && fix_mixed
    fi
    if [ -z "$OTHERS" ]; then finish already-compliant none amazon-source-selected; fi
    [ "$DRY_RUN" = true ] && { stop_others; finish would-change stop-others "other-daemons-running"; }
    stop_others
    finish changed stop-others "stopped-$OTHERS_STOPPED"
  fi

  if chrony_amazon_in_files; then
    # Configured already: adding it again would only duplicate it. Give it the bounded wait.
    say "the Amazon source is configured but not selected"
    [ "$DRY_RUN" = true ] && finish would-change verify configured-not-selected
    if ! chrony_amazon_loaded; then
      say "not loaded by the running chronyd: restarting it"
      restart_chrony || finish failed restart restart-failed
    fi
    if wait_chrony_selected; then
      stop_others
      finish already-compliant none selected-after-wait
    fi
    finish failed verify configured-not-selected
  fi

  LINES="server $EP $SERVER_OPTIONS"
  if [ -n "$PHC_DEV" ]; then LINES="$LINES
refclock PHC $PHC_DEV poll 0 delay 0.000010 prefer"; fi

  # The Amazon NTP endpoint smears leap seconds: a leap file would make chronyd insert the same
  # second again on top of the smear, and a source that does not smear drifts up to 1 s from it
  # around a leap second (AWS: do not mix). Both go from the main config when (and only when) we add
  # the smeared source; files we do not write (other confdir/sourcedir files) are left as they are.

  DIR=$(persistent_sourcedir)
  mix_candidate "$([ -z "$DIR" ] && echo 1 || echo 0)" "$LINES"

  if [ -n "$DIR" ]; then
    VARIANT=drop-in
    TARGET="$DIR/$DROPIN_NAME.sources"
    DROP_CAND="$WORK/$DROPIN_NAME.sources"
    printf '# Amazon Time Sync Service (added by timesync-guard)\n%s\n' "$LINES" >"$DROP_CAND"
    say "plan: drop-in $TARGET"
    # chronyd -p does not read sourcedir files: check the drop-in on its own.
    chrony_validate "$DROP_CAND" || finish failed validate drop-in-invalid
  else
    VARIANT=main-config
    say "plan: add the source to $CONF ahead of other server/pool lines"
  fi
  _nl='
'
  _rest="$LINES$_nl"
  while [ -n "$_rest" ]; do say "line: ${_rest%%"$_nl"*}"; _rest=${_rest#*"$_nl"}; done
  MAIN_CHANGED=0
  cmp -s "$MAIN_CAND" "$CONF" || MAIN_CHANGED=1
  [ "$MIXED" -gt 0 ] && say "plan: comment out $MIXED leap file or unsmeared source line(s) in $CONF"
  if [ "$MAIN_CHANGED" = 1 ]; then
    chrony_validate "$MAIN_CAND" || finish failed validate main-config-invalid
  fi

  if [ "$DRY_RUN" = true ]; then
    stop_others
    finish would-change "add-source-$VARIANT" "dry-run"
  fi

  checkpoint plan
  [ "$MAIN_CHANGED" = 1 ] && { install_file "$MAIN_CAND" "$CONF" || { restore_files; finish failed write write-failed; }; checkpoint write; }
  [ "$VARIANT" = drop-in ] && { install_file "$DROP_CAND" "$TARGET" || { restore_files; finish failed write write-failed; }; checkpoint write-drop-in; }

  APPLIED=1
  if [ "$MAIN_CHANGED" = 1 ]; then
    say "restarting chronyd"
    restart_chrony
    _applied=$?
  else
    say "chronyc reload sources"
    reload_chrony_sources
    _applied=$?
  fi
  checkpoint apply

  if [ $_applied -eq 0 ] && wait_chrony_selected; then
    say "verified: the Amazon source is selected"
    chrony_step_if_needed
    stop_others
    _r="${OTHERS_STOPPED:+stopped-$OTHERS_STOPPED}"
    finish changed "add-source-$VARIANT" "$_r${_r:+${STEP_NOTE:+.}}$STEP_NOTE"
  fi

  if [ $_applied -ne 0 ]; then _why=apply-failed; else _why=not-selected-within-${VERIFY_SECONDS}s; fi
  say "rolling back: $_why"
  restore_files
  if [ "$MAIN_CHANGED" = 1 ]; then restart_chrony; else reload_chrony_sources || restart_chrony; fi || say "warning: chronyd did not come back"
  finish rolled-back "add-source-$VARIANT" "$_why"
}

# ---------------------------------------------------------------- systemd-timesyncd
# "<server address> <synchronised yes|no>". `timedatectl show*` needs systemd >= 239 (Ubuntu
# 18.04 has 237): older ones only say whether the clock is synchronised, the address is "?".
timesyncd_state() {
  if _sync=$($TIMEDATECTL show -p NTPSynchronized --value 2>/dev/null) && [ -n "$_sync" ]; then
    _addr=$($TIMEDATECTL show-timesync -p ServerAddress --value 2>/dev/null)
    printf '%s %s' "${_addr:--}" "$_sync"
  elif $TIMEDATECTL status 2>/dev/null | grep -Eq 'synchronized: yes'; then
    printf '? yes'
  else
    printf '? no'
  fi
}

remediate_timesyncd() {
  DAEMON=systemd-timesyncd
  OTHERS=$OPENNTPD_UNIT
  TARGET=${TSG_TIMESYNCD_DROPIN:-$ROOT/etc/systemd/timesyncd.conf.d/$DROPIN_NAME.conf}
  CAND="$WORK/timesyncd.conf"
  # The empty NTP= resets the list, so servers from timesyncd.conf are not combined with ours.
  printf '# Amazon Time Sync Service (added by timesync-guard)\n[Time]\nNTP=\nNTP=%s\n' "$EP" >"$CAND"
  _dropin_ok=0
  if [ -f "$TARGET" ] && cmp -s "$CAND" "$TARGET"; then _dropin_ok=1; fi
  _st=$(timesyncd_state)
  say "timesyncd: server=${_st% *} synchronized=${_st#* }"
  if [ "$_st" = "$EP yes" ] || { [ "$_st" = "? yes" ] && [ "$_dropin_ok" = 1 ]; }; then
    finish already-compliant none amazon-source-synchronized
  fi
  if [ "$_dropin_ok" = 1 ]; then
    [ "$DRY_RUN" = true ] && finish would-change verify configured-not-synchronized
    svc restart "$TIMESYNCD_UNIT"
  else
    say "plan: drop-in $TARGET with NTP=$EP"
    [ "$DRY_RUN" = true ] && finish would-change add-source-drop-in dry-run
    checkpoint plan
    install_file "$CAND" "$TARGET" || { restore_files; finish failed write write-failed; }
    checkpoint write
    APPLIED=1
    svc restart "$TIMESYNCD_UNIT"
  fi
  checkpoint apply
  _deadline=$(($(date +%s) + VERIFY_SECONDS))
  while :; do
    _st=$(timesyncd_state)
    if [ "$_st" = "$EP yes" ] || [ "$_st" = "? yes" ]; then
      say "verified: timesyncd synchronised (server ${_st% *})"
      stop_others
      _r="${OTHERS_STOPPED:+stopped-$OTHERS_STOPPED}"
      [ -n "$BACKUPS" ] && finish changed add-source-drop-in "$_r"
      [ -n "$_r" ] && finish changed stop-others "$_r"
      finish already-compliant none selected-after-wait
    fi
    [ "$(date +%s)" -ge "$_deadline" ] && break
    sleep "$POLL_SECONDS"
  done
  say "not synchronised to $EP within ${VERIFY_SECONDS}s (server=${_st% *} synchronized=${_st#* })"
  [ -n "$BACKUPS" ] || finish failed verify configured-not-synchronized
  restore_files
  svc restart "$TIMESYNCD_UNIT"
  finish rolled-back add-source-drop-in "not-synchronized-within-${VERIFY_SECONDS}s"
}

# ---------------------------------------------------------------- ntpd / ntpsec
ntp_amazon_selected() {
  $NTPQ -pn 2>/dev/null | awk -v a="$AMAZON_IPV4" -v b="$AMAZON_IPV6" \
    '{ r = $1 } r == "*" a || r == "*" b { f = 1 } END { exit !f }'
}

remediate_ntpd() {
  DAEMON=ntpd
  if [ -n "${TSG_NTP_CONF:-}" ]; then CONF=$TSG_NTP_CONF
  elif [ -f "$ROOT/etc/ntpsec/ntp.conf" ]; then CONF=$ROOT/etc/ntpsec/ntp.conf
  elif [ -f "$ROOT/etc/ntp.conf" ]; then CONF=$ROOT/etc/ntp.conf
  else finish failed find-config ntp-conf-not-found; fi
  say "ntp config: $CONF"
  # shellcheck disable=SC2086
  OTHERS=$(words $TIMESYNCD_UNIT $OPENNTPD_UNIT)
  if ntp_amazon_selected; then
    [ -z "$OTHERS" ] && finish already-compliant none amazon-source-selected
    [ "$DRY_RUN" = true ] && { stop_others; finish would-change stop-others other-daemons-running; }
    stop_others
    finish changed stop-others "stopped-$OTHERS_STOPPED"
  fi
  if awk -v a="$AMAZON_IPV4" -v b="$AMAZON_IPV6" '($1 == "server" || $1 == "pool") && ($2 == a || $2 == b) { f = 1 } END { exit !f }' "$CONF"; then
    finish failed verify configured-not-selected
  fi
  CAND="$WORK/ntp.conf"
  awk -v line="server $EP $SERVER_OPTIONS" '
    !done && ($1 == "server" || $1 == "pool" || $1 == "peer") { print "# Amazon Time Sync Service (added by timesync-guard)"; print line; done = 1 }
    { print }
    END { if (!done) { print "# Amazon Time Sync Service (added by timesync-guard)"; print line } }
  ' "$CONF" >"$CAND" || finish failed build-candidate awk-failed
  say "plan: add server $EP to $CONF ahead of other server/pool lines"
  [ "$DRY_RUN" = true ] && finish would-change add-source-main-config dry-run
  checkpoint plan
  install_file "$CAND" "$CONF" || { restore_files; finish failed write write-failed; }
  checkpoint write
  APPLIED=1
  svc restart "$NTP_UNIT"
  checkpoint apply
  _deadline=$(($(date +%s) + VERIFY_SECONDS))
  while :; do
    if ntp_amazon_selected; then
      say "verified: ntpd selects $EP"
      stop_others
      finish changed add-source-main-config "${OTHERS_STOPPED:+stopped-$OTHERS_STOPPED}"
    fi
    [ "$(date +%s)" -ge "$_deadline" ] && break
    sleep "$POLL_SECONDS"
  done
  say "rolling back: $EP not selected within ${VERIFY_SECONDS}s"
  restore_files
  svc restart "$NTP_UNIT"
  finish rolled-back add-source-main-config "not-selected-within-${VERIFY_SECONDS}s"
}

# ---------------------------------------------------------------- no daemon
# Package metadata is refreshed first: a fresh instance's index may be empty or stale (apt-get
# then finds no chrony at all). A failed refresh is said, and the install still tried from the cache.
install_chrony() {
  if have dnf; then dnf -y makecache || echo "dnf makecache failed: installing from the cached metadata"; dnf -y install chrony
  elif have yum; then yum -y makecache || echo "yum makecache failed: installing from the cached metadata"; yum -y install chrony
  elif have apt-get; then
    DEBIAN_FRONTEND=noninteractive apt-get update || echo "apt-get update failed: installing from the cached index"
    DEBIAN_FRONTEND=noninteractive apt-get -y install chrony
  elif have zypper; then zypper --non-interactive refresh || echo "zypper refresh failed: installing from the cached metadata"; zypper --non-interactive install chrony
  else return 3; fi
}

# ---------------------------------------------------------------- dispatch
NP_RESULT=""
[ "$FIX_NO_PROXY" = true ] && { fix_no_proxy; STEP_NAME=detect; }
if [ "$FIX_TIME_SYNC" = false ]; then
  case "$NP_RESULT" in rolled-back | failed) finish "$NP_RESULT" no-proxy time-sync-fix-off ;; esac
  finish skipped none time-sync-fix-off
fi
if [ -n "$CHRONY_UNIT" ]; then remediate_chrony; fi
if [ -n "$NTP_UNIT" ]; then remediate_ntpd; fi
if [ -n "$TIMESYNCD_UNIT" ]; then remediate_timesyncd; fi
if [ -n "$OPENNTPD_UNIT" ]; then
  DAEMON=openntpd
  say "openntpd is not changed by this script; install chrony to use the Amazon Time Sync Service"
  finish skipped none openntpd-not-supported
fi

DAEMON=none
if [ "$INSTALL_CHRONY" != true ]; then
  say "no time daemon is running; --install-chrony true would install chrony"
  finish skipped none no-time-daemon
fi
[ "$DRY_RUN" = true ] && finish would-change install-chrony dry-run
if ! have "$CHRONYD"; then
  say "installing chrony with the OS package manager"
  _o=$(install_chrony 2>&1)
  _rc=$?
  case "$_o" in *"failed: installing from the cache"*) say "$(printf '%s\n' "$_o" | grep -m 1 'failed: installing from the cache')" ;; esac
  [ $_rc -eq 0 ] || { say "install failed: $(first_line "$_o")"; finish failed install-chrony package-install-failed; }
fi
CHRONY_UNIT=chronyd
svc enable chronyd || { CHRONY_UNIT=chrony; svc enable chrony; }
svc start "$CHRONY_UNIT" || finish failed install-chrony chrony-did-not-start
sleep 1
remediate_chrony
