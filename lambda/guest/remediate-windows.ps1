# timesync-guard: point Windows Time (w32time) at the Amazon Time Sync Service, as AWS's Windows
# AMIs ship it (docs/windows.md lists every value and how to undo it).
#
# Windows PowerShell 5.1, run as Administrator; PowerShell 4.0 compatible where it costs nothing
# (no ::new, no classes, no ternary). Idempotent. No param() block: an SSM document prepends
# `$TsgArgs = @{ DryRun = '...'; Endpoint = '...'; ForceDomainMembers = '...'; VerifySeconds = '...'; ... }`;
# by hand the defaults apply, or set $TsgArgs first and call the script with `&` (not dot-sourced:
# its `exit` would close your session). An empty value means the default.
#   DryRun              true|false       report what would change, change nothing         (default false)
#   Endpoint            auto|ipv4|ipv6   169.254.169.123 or fd00:ec2::123; auto = IPv6 only
#                                        when the host has no IPv4 address                   (default auto)
#   ForceDomainMembers  true|false       also change domain members and the PDC emulator     (default false)
#   VerifySeconds       1..3600          bounded wait for a sync from the Amazon endpoint   (default 60)
#   FixNoProxy          true|false       add the IMDS addresses to the machine NO_PROXY where a
#                                        machine HTTP(S)_PROXY misses them                   (default false)
#   FixTimeSync         true|false       false: only the NO_PROXY step runs                  (default true)
#   ServiceWaitSeconds  1..600           how long a service start/stop may stay pending      (default 30)
# Checks are language-neutral: registry values, exit codes, the hex reference id and values read
# by position from `w32tm /query /status /verbose`, never the (localized) label text. Every
# external call (w32tm, CIM) runs under a timeout.
# Every line goes to the host (Write-Host; powershell.exe -File prints it on stdout, which Run
# Command returns), never to the success stream: there it would join the return value of whatever
# function printed it, and `$false` plus a message is an array, which PowerShell takes for true.
# Functions return exactly one value of their [OutputType].
# The last output line is always:
#   TSG-REMEDIATE v1 result=<...> daemon=w32time action=<...> reason=<...>
# With FixNoProxy=true an earlier line reports that step:
#   TSG-NO-PROXY v1 result=<...> files=machine-env:<name> reason=<...>
# Exit 0: already-compliant, changed, would-change, skipped. Exit 1: failed. Exit 2: rolled-back.

$ErrorActionPreference = 'Continue'
$SvcKey = 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time'
$PolicyKey = 'HKLM:\SOFTWARE\Policies\Microsoft\W32Time'
$CallTimeoutSeconds = 30
$ServiceWaitSeconds = 30
$script:OutLen = 0
$script:Truncated = $false
$script:TriggersTouched = $false
$script:StartTypeTouched = $false

# SSM keeps the first 2,500 characters of output: progress stays well below that.
function Say([string]$Text) {
    $line = "tsg: $Text"
    if ($script:OutLen + $line.Length + 1 -le 2000) {
        Write-Host $line
        $script:OutLen += $line.Length + 1
    } elseif (-not $script:Truncated) {
        Write-Host 'tsg: ... (further progress lines omitted)'
        $script:Truncated = $true
    }
}

function Get-Token {
    [OutputType([string])] param([string]$Text)
    $t = ($Text -replace '[^A-Za-z0-9._~-]', '-')
    if ($t.Length -gt 80) { $t = $t.Substring(0, 80) }
    return $t
}

function Finish([string]$Result, [string]$Action, [string]$Reason) {
    Write-Host ("TSG-REMEDIATE v1 result={0} daemon=w32time action={1} reason={2}" -f $Result, (Get-Token $Action), (Get-Token $Reason))
    switch ($Result) {
        'rolled-back' { exit 2 }
        'failed' { exit 1 }
        default { exit 0 }
    }
}

# An external command's output on one line, short enough for the output budget.
function Get-Short {
    [OutputType([string])] param([string]$Text)
    $t = ($Text -replace '\s+', ' ').Trim()
    if ($t.Length -gt 160) { $t = $t.Substring(0, 160) + '...' }
    return $t
}

function Get-TsgArg {
    [OutputType([string])] param([string]$Name, [string]$Default)
    if ((Test-Path variable:TsgArgs) -and ($TsgArgs -is [hashtable]) -and $TsgArgs.ContainsKey($Name)) {
        $v = [string]$TsgArgs[$Name]
        if ($v.Trim() -ne '') { return $v.Trim() }
    }
    return $Default
}

# $true/$false, or $null for a value it does not understand. It never calls Finish itself: the
# option checks read best where they are assigned.
function Get-TsgBool {
    [OutputType([bool])] param([string]$Name, [string]$Default)
    $v = (Get-TsgArg $Name $Default).ToLowerInvariant()
    if (@('true', 'yes', '1') -contains $v) { return $true }
    if (@('false', 'no', '0') -contains $v) { return $false }
    return $null
}

# Runs an executable from System32 under a timeout; a hung one is killed by its PID. Returns Code
# (null on timeout) and Out.
function Invoke-System32 {
    [OutputType([hashtable])] param([string]$Name, [string]$Arguments, [int]$TimeoutSeconds)
    if ($TimeoutSeconds -lt 1) { $TimeoutSeconds = $CallTimeoutSeconds }
    $exe = Join-Path $env:SystemRoot "System32\$Name"
    $r = @{ Code = $null; Out = '' }
    try {
        $psi = New-Object System.Diagnostics.ProcessStartInfo
        $psi.FileName = $exe
        $psi.Arguments = $Arguments
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.CreateNoWindow = $true
        $p = [System.Diagnostics.Process]::Start($psi)
        $so = $p.StandardOutput.ReadToEndAsync()
        $se = $p.StandardError.ReadToEndAsync()
        if ($p.WaitForExit($TimeoutSeconds * 1000)) {
            $r.Code = $p.ExitCode
            $r.Out = $so.Result + $se.Result
        } else {
            try { Stop-Process -Id $p.Id -Force -ErrorAction Stop } catch { try { $p.Kill() } catch { } }
            $r.Out = "$Name $Arguments timed out after ${TimeoutSeconds}s"
        }
    } catch {
        $r.Out = "cannot run ${Name}: $($_.Exception.Message)"
    }
    return $r
}

function Invoke-W32tm {
    [OutputType([hashtable])] param([string]$Arguments, [int]$TimeoutSeconds)
    return (Invoke-System32 'w32tm.exe' $Arguments $TimeoutSeconds)
}

# Not Start-Service/Restart-Service: they wait without limit for a service stuck in a pending
# state. sc.exe asks the SCM and returns at once (under the call timeout), then the status is
# polled until a deadline (ServiceWaitSeconds). sc.exe exits with the Win32 error code
# (language-neutral): 1056 already running, 1062 not started.
function Wait-W32TimeStatus {
    [OutputType([bool])] param([string]$Status)
    $deadline = (Get-Date).AddSeconds($ServiceWaitSeconds)
    while ($true) {
        if (Test-W32TimeStatus $Status) { return $true }
        if ((Get-Date) -ge $deadline) { return $false }
        Start-Sleep -Milliseconds 250
    }
}

function Test-W32TimeStatus {
    [OutputType([bool])] param([string]$Status)
    $s = Get-Service -Name W32Time -ErrorAction SilentlyContinue
    return ($null -ne $s -and [string]$s.Status -eq $Status)
}

# sc.exe start|stop w32time, then the wait. $Done: the exit code that means it already is (1056
# already running, 1062 not started).
function Set-W32TimeStatus {
    [OutputType([bool])] param([string]$Verb, [string]$Status, [int]$Done)
    if (Test-W32TimeStatus $Status) { return $true }
    $r = Invoke-System32 'sc.exe' "$Verb w32time" $CallTimeoutSeconds
    if ($r.Code -ne 0 -and $r.Code -ne $Done) { Say "sc.exe $Verb w32time: $($r.Code) $(Get-Short $r.Out)"; return $false }
    if (Wait-W32TimeStatus $Status) { return $true }
    Say "W32Time not $($Status.ToLowerInvariant()) ${ServiceWaitSeconds}s after sc.exe $Verb w32time"
    return $false
}

function Start-W32Time { [OutputType([bool])] param() return (Set-W32TimeStatus 'start' 'Running' 1056) }
function Stop-W32Time { [OutputType([bool])] param() return (Set-W32TimeStatus 'stop' 'Stopped' 1062) }

function Restart-W32Time {
    [OutputType([bool])] param()
    if (-not (Stop-W32Time)) { return $false }
    return (Start-W32Time)
}

# The start type as the SCM holds it now: Win32_Service.StartMode (Auto, Manual, Disabled; not
# localized), under a CIM timeout; $null when it cannot be read. Not the registry's Start value:
# the SCM reads that only at boot, so it says what the next boot will do, not what sc.exe start
# does now.
function Get-W32TimeStartMode {
    [OutputType([string])] param()
    $m = ''
    try { $m = [string](Get-CimInstance -ClassName Win32_Service -Filter "Name='W32Time'" -OperationTimeoutSec 15 -ErrorAction Stop).StartMode } catch { }
    if ($m -eq '') { return $null }
    return $m
}

# StartMode -> sc.exe's start= word. Only these are set or restored.
$ScStartTypes = @{ 'Auto' = 'auto'; 'Manual' = 'demand'; 'Disabled' = 'disabled' }

# Through the SCM (sc.exe config: ChangeServiceConfig, which updates the SCM's live configuration
# and its registry copy together), then read back from the SCM. '' when done, else the reason.
function Set-W32TimeStartMode {
    [OutputType([string])] param([string]$Mode)
    $word = $ScStartTypes[$Mode]
    $r = Invoke-System32 'sc.exe' "config w32time start= $word" $CallTimeoutSeconds
    if ($r.Code -ne 0) { Say "sc.exe config w32time start= ${word}: $($r.Code) $(Get-Short $r.Out)"; return 'service-start-type-not-set' }
    $now = Get-W32TimeStartMode
    if ($now -ne $Mode) { Say "start type reads '$now' after sc.exe config w32time start= $word"; return 'service-start-type-not-updated' }
    return ''
}

# The value lines of `/query /status /verbose` by position (labels are localized, the order is not):
# 0 leap, 1 stratum, 5 reference id, 7 source, 9 phase offset, 14 last sync error. Lines without a
# colon continue the previous value (wrapped messages).
function Get-StatusValues {
    [OutputType([hashtable])] param()
    $r = Invoke-W32tm '/query /status /verbose' $CallTimeoutSeconds
    $vals = New-Object System.Collections.Generic.List[string]
    foreach ($line in ($r.Out -split "`r?`n")) {
        $l = $line.Trim()
        if ($l -eq '') { continue }
        $i = $l.IndexOfAny([char[]]@(':', [char]0xFF1A))
        if ($i -ge 0) { $vals.Add($l.Substring($i + 1).Trim()) }
        elseif ($vals.Count -gt 0) { $vals[$vals.Count - 1] = $vals[$vals.Count - 1] + ' ' + $l }
    }
    return @{ Code = $r.Code; Values = $vals }
}

function Get-RegValue {
    [OutputType([object])] param([string]$Key, [string]$Name)
    $item = Get-ItemProperty -Path $Key -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $item) { return $null }
    return $item.$Name
}

# What is written, in order. Kind is the registry type the value gets when it must be created.
# Core: the values AWS documents for its AMIs; a running host synchronised to Amazon with these is
# compliant whatever its start type and triggers (Windows' defaults are fine while it runs). The
# start type is not a registry write here: it goes through the SCM (Set-W32TimeStartMode).
function Get-DesiredValues {
    [OutputType([object[]])] param([string]$Peer, [int]$SpecialPoll, [bool]$Pdc)
    $d = @(
        @{ Key = "$SvcKey\Parameters"; Name = 'NtpServer'; Value = "$Peer,0x9"; Kind = 'String'; Core = $true },
        @{ Key = "$SvcKey\Parameters"; Name = 'Type'; Value = 'NTP'; Kind = 'String'; Core = $true },
        @{ Key = "$SvcKey\TimeProviders\NtpClient"; Name = 'Enabled'; Value = 1; Kind = 'DWord'; Core = $false },
        @{ Key = "$SvcKey\TimeProviders\NtpClient"; Name = 'InputProvider'; Value = 1; Kind = 'DWord'; Core = $false },
        @{ Key = "$SvcKey\TimeProviders\NtpClient"; Name = 'SpecialPollInterval'; Value = $SpecialPoll; Kind = 'DWord'; Core = $true },
        @{ Key = "$SvcKey\Config"; Name = 'UpdateInterval'; Value = 120; Kind = 'DWord'; Core = $true }
    )
    # The PDC emulator serves the domain: it must announce itself as reliable (what /reliable:yes writes).
    if ($Pdc) { $d += @{ Key = "$SvcKey\Config"; Name = 'AnnounceFlags'; Value = 5; Kind = 'DWord'; Core = $true } }
    return , $d
}

function Test-ValueEqual {
    [OutputType([bool])] param($Current, $Wanted)
    if ($null -eq $Current) { return $false }
    return ([string]$Current) -eq ([string]$Wanted)
}

# The service's network triggers, as AWS's AMIs set them (`sc.exe triggerinfo w32time
# start/networkon stop/networkoff`): IP address availability (trigger type 2), start on the first IP
# address arrival, stop on the last IP address removal. Written with sc.exe, so the SCM's live
# configuration and its registry copy change together. Read, recorded, compared and restored as the
# registry subkeys the SCM keeps them in (TriggerInfo\0, \1, ...: Action, Type, Guid and any Data
# values), not as sc.exe's text: that text is localized and cannot express every trigger sc.exe can
# show, while the subkeys are language-neutral and hold every byte, so a restore is exact and is
# re-read value by value. Rollback first lets sc.exe delete the triggers (SCM live state and
# registry: exact at once when there were none before), then writes the recorded subkeys back; the
# SCM loads restored subkeys at the next boot, as it does the Start value this script also restores.
$TriggerKey = "$SvcKey\TriggerInfo"
$WantedTriggers = '1/2/4f27f2de-14e2-430b-a549-7cd48cbc8245 2/2/cc4ba62a-162e-4648-847a-b6bdf993e335'

function Format-RegData {
    [OutputType([string])] param($Value)
    if ($null -eq $Value) { return '<null>' }
    if ($Value -is [array]) { return (($Value | ForEach-Object { [string]$_ }) -join ',') }
    return [string]$Value
}

# Every trigger subkey with every value and its registry kind, in index order.
function Read-Triggers {
    [OutputType([object[]])] param()
    $list = @()
    for ($i = 0; $i -lt 64; $i++) {
        $k = Get-Item -Path "$TriggerKey\$i" -ErrorAction SilentlyContinue
        if ($null -eq $k) { break }
        $vals = @()
        foreach ($n in @($k.GetValueNames())) {
            $vals += @{ Name = [string]$n; Kind = [string]$k.GetValueKind($n); Value = $k.GetValue($n, $null, 'DoNotExpandEnvironmentNames') }
        }
        $list += @{ Sub = [string]$i; Values = $vals }
    }
    return , $list
}

# The exact text of a trigger set: compared on rollback.
function Format-Triggers {
    [OutputType([string])] param($Triggers)
    $parts = @()
    foreach ($t in $Triggers) {
        $v = @($t.Values | Sort-Object { $_.Name } | ForEach-Object { "$($_.Name)=$($_.Kind):$(Format-RegData $_.Value)" })
        $parts += "$($t.Sub){$($v -join ';')}"
    }
    if ($parts.Count -eq 0) { return 'none' }
    return ($parts -join ' ')
}

# Action/Type/subtype GUID of each trigger, sorted: compared with $WantedTriggers.
function Get-TriggerSignature {
    [OutputType([string])] param($Triggers)
    $sig = @()
    foreach ($t in $Triggers) {
        $h = @{}
        foreach ($v in $t.Values) { $h[$v.Name] = $v.Value }
        $g = 'no-guid'
        try { if ($null -ne $h['Guid']) { $g = (New-Object System.Guid -ArgumentList (, [byte[]]$h['Guid'])).ToString() } } catch { $g = 'bad-guid' }
        $one = "$($h['Action'])/$($h['Type'])/$g"
        if (@($t.Values).Count -ne 3) { $one += '+data' }
        $sig += $one
    }
    if ($sig.Count -eq 0) { return 'none' }
    return ((@($sig | Sort-Object)) -join ' ')
}

function Test-Administrator {
    [OutputType([bool])] param()
    try {
        $identity = [Security.Principal.WindowsIdentity]::GetCurrent()
        return ([Security.Principal.WindowsPrincipal]$identity).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
    } catch [System.PlatformNotSupportedException] {
        # Only the project's tests run this script off Windows (pwsh on Linux, registry stand-ins).
        return $true
    } catch {
        return $false
    }
}

function Test-Ipv6Only {
    [OutputType([bool])] param()
    try {
        foreach ($nic in [System.Net.NetworkInformation.NetworkInterface]::GetAllNetworkInterfaces()) {
            if ($nic.NetworkInterfaceType -eq 'Loopback') { continue }
            foreach ($a in $nic.GetIPProperties().UnicastAddresses) {
                if ($a.Address.AddressFamily -eq 'InterNetwork' -and -not $a.Address.ToString().StartsWith('169.254.')) { return $false }
            }
        }
        return $true
    } catch { return $false }
}

# ---------------------------------------------------------------- options
$DryRun = Get-TsgBool 'DryRun' 'false'
if ($null -eq $DryRun) { Finish 'failed' 'parse-options' 'bad-value-for-DryRun' }
$ForceDomain = Get-TsgBool 'ForceDomainMembers' 'false'
if ($null -eq $ForceDomain) { Finish 'failed' 'parse-options' 'bad-value-for-ForceDomainMembers' }
$VerifyText = Get-TsgArg 'VerifySeconds' '60'
$VerifySeconds = 0
if (-not [int]::TryParse($VerifyText, [ref]$VerifySeconds) -or $VerifySeconds -lt 1 -or $VerifySeconds -gt 3600) {
    Finish 'failed' 'parse-options' 'bad-value-for-VerifySeconds'
}
$EndpointArg = (Get-TsgArg 'Endpoint' 'auto').ToLowerInvariant()
if (@('auto', 'ipv4', 'ipv6') -notcontains $EndpointArg) { Finish 'failed' 'parse-options' 'bad-value-for-Endpoint' }
if ($EndpointArg -eq 'auto') { if (Test-Ipv6Only) { $EndpointArg = 'ipv6' } else { $EndpointArg = 'ipv4' } }
if ($EndpointArg -eq 'ipv6') { $Peer = 'fd00:ec2::123' } else { $Peer = '169.254.169.123' }
$FixNoProxy = Get-TsgBool 'FixNoProxy' 'false'
if ($null -eq $FixNoProxy) { Finish 'failed' 'parse-options' 'bad-value-for-FixNoProxy' }
$FixTimeSync = Get-TsgBool 'FixTimeSync' 'true'
if ($null -eq $FixTimeSync) { Finish 'failed' 'parse-options' 'bad-value-for-FixTimeSync' }
$WaitText = Get-TsgArg 'ServiceWaitSeconds' '30'
if (-not [int]::TryParse($WaitText, [ref]$ServiceWaitSeconds) -or $ServiceWaitSeconds -lt 1 -or $ServiceWaitSeconds -gt 600) {
    Finish 'failed' 'parse-options' 'bad-value-for-ServiceWaitSeconds'
}
Say "options: DryRun=$DryRun Endpoint=$Peer ForceDomainMembers=$ForceDomain VerifySeconds=$VerifySeconds FixNoProxy=$FixNoProxy FixTimeSync=$FixTimeSync ServiceWaitSeconds=$ServiceWaitSeconds"

# ---------------------------------------------------------------- preflight
if (-not $DryRun -and -not (Test-Administrator)) { Finish 'failed' 'preflight' 'must-run-as-administrator' }

# ---------------------------------------------------------------- NO_PROXY (opt-in)
# The machine environment (HKLM). Windows variable names ignore case: one value, found whatever its
# case, appended to in place with its kind (REG_EXPAND_SZ references stay unexpanded). WinHTTP's
# proxy (netsh winhttp) is another mechanism, which the SDKs do not read: reported, never changed.
$EnvKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
$NpAddrs = @('169.254.169.254', '169.254.170.2', 'fd00:ec2::254')
$script:NpResult = ''

function Write-NoProxyLine([string]$Result, [string]$Name, [string]$Reason) {
    $f = ''
    if ($Name) { $f = "machine-env:$Name" }
    $line = "TSG-NO-PROXY v1 result=$Result files=$f reason=$(Get-Token $Reason)"
    Write-Host $line
    $script:OutLen += $line.Length + 1
    $script:NpResult = $Result
}

function Test-NoProxyCovers {
    [OutputType([bool])] param([string]$Value)
    foreach ($e in ($Value -split '[,\s]+')) {
        $e = $e.Trim('"', "'")
        if ($e -eq '*' -or $e -eq '169.254.169.254') { return $true }
        if ($e -match '^(\d+)\.(\d+)\.(\d+)\.(\d+)/(\d+)$' -and [int]$Matches[5] -le 32) {
            $n = (([double]$Matches[1] * 256 + $Matches[2]) * 256 + $Matches[3]) * 256 + $Matches[4]
            $size = [Math]::Pow(2, 32 - [int]$Matches[5])
            if ([Math]::Floor($n / $size) -eq [Math]::Floor(2852039166 / $size)) { return $true }
        }
    }
    return $false
}

function Invoke-NoProxyFix {
    $w = Invoke-System32 'netsh.exe' 'winhttp show proxy' 15
    $wt = ($w.Out -replace '\s+', ' ').Trim()
    if ($wt.Length -gt 160) { $wt = $wt.Substring(0, 160) }
    Say "WinHTTP proxy (not changed, SDKs do not use it): $wt"
    $k = Get-Item -Path $EnvKey -ErrorAction SilentlyContinue
    $names = @()
    if ($null -ne $k) { $names = @($k.GetValueNames()) }
    $proxy = @($names | Where-Object { $_ -match '^https?_proxy$' -and ([string]$k.GetValue($_, $null, 'DoNotExpandEnvironmentNames')).Trim() -ne '' })
    if ($proxy.Count -eq 0) { Write-NoProxyLine 'already-compliant' '' 'no-system-proxy'; return }
    $name = @($names | Where-Object { $_ -match '^no_proxy$' }) | Select-Object -First 1
    $exists = ($null -ne $name)
    $old = $null
    $kind = 'String'
    if ($exists) { $old = [string]$k.GetValue($name, $null, 'DoNotExpandEnvironmentNames'); $kind = [string]$k.GetValueKind($name) } else { $name = 'NO_PROXY' }
    if ($exists -and (Test-NoProxyCovers $old)) { Write-NoProxyLine 'already-compliant' $name 'imds-covered'; return }
    $have = @()
    if ($exists) { $have = @($old -split '[,\s]+' | ForEach-Object { $_.Trim('"', "'") }) }
    $add = @($NpAddrs | Where-Object { $have -notcontains $_ }) -join ','
    $new = $add
    if ($exists -and $old.Trim() -ne '') { $new = $old.TrimEnd(); if (-not $new.EndsWith(',')) { $new += ',' }; $new += $add }
    Say "no-proxy: $($proxy -join ', ') set machine-wide; $name=$new"
    if ($DryRun) { Write-NoProxyLine 'would-change' $name 'dry-run'; return }
    $why = ''
    try {
        if ($exists) { Set-ItemProperty -Path $EnvKey -Name $name -Value $new -Type $kind -ErrorAction Stop }
        else { New-ItemProperty -Path $EnvKey -Name $name -Value $new -PropertyType String -Force -ErrorAction Stop | Out-Null }
    } catch { Say "no-proxy: writing $name failed: $($_.Exception.Message)"; $why = 'registry-write-failed' }
    $k = Get-Item -Path $EnvKey -ErrorAction SilentlyContinue
    if (-not $why -and ([string]$k.GetValue($name, $null, 'DoNotExpandEnvironmentNames') -ne $new -or -not (Test-NoProxyCovers $new))) { $why = 'registry-not-updated' }
    if (-not $why) {
        Say 'no-proxy: verified; services see it after the next Windows restart, new logon sessions at once'
        Write-NoProxyLine 'changed' $name 'services-pick-it-up-at-next-restart'
        return
    }
    try {
        if ($exists) { Set-ItemProperty -Path $EnvKey -Name $name -Value $old -Type $kind -ErrorAction Stop }
        elseif ($null -ne (Get-ItemProperty -Path $EnvKey -Name $name -ErrorAction SilentlyContinue)) { Remove-ItemProperty -Path $EnvKey -Name $name -ErrorAction Stop }
    } catch { Say "no-proxy: rollback of $name failed: $($_.Exception.Message)" }
    $k = Get-Item -Path $EnvKey -ErrorAction SilentlyContinue
    $now = $null
    if ($null -ne $k) { $now = $k.GetValue($name, $null, 'DoNotExpandEnvironmentNames') }
    if (($exists -and [string]$now -eq $old) -or (-not $exists -and $null -eq $now)) { Write-NoProxyLine 'rolled-back' $name $why }
    else { Write-NoProxyLine 'failed' $name "$why-restore-incomplete" }
}

if ($FixNoProxy) { Invoke-NoProxyFix }
if (-not $FixTimeSync) {
    if (@('rolled-back', 'failed') -contains $script:NpResult) { Finish $script:NpResult 'no-proxy' 'time-sync-fix-off' }
    Finish 'skipped' 'none' 'time-sync-fix-off'
}

# CIM under a timeout, and no WMI fallback: Get-WmiObject has no timeout, and where CIM failed or
# timed out WMI would wait on the same repository (Get-CimInstance exists from PowerShell 3.0).
$cs = $null
try { $cs = Get-CimInstance -ClassName Win32_ComputerSystem -OperationTimeoutSec 15 -ErrorAction Stop } catch { $cs = $null }
if ($null -eq $cs -or $null -eq $cs.DomainRole) { Finish 'failed' 'preflight' 'domain-role-unknown' }
# Win32_ComputerSystem.DomainRole: 0/2 standalone, 1/3 member, 4 backup DC, 5 primary DC (PDC emulator).
$role = [int]$cs.DomainRole
if ($role -eq 4) {
    Say 'backup domain controller: it serves the domain hierarchy and is never reconfigured'
    Finish 'skipped' 'none' 'domain-controller'
}
if (($role -eq 1 -or $role -eq 3 -or $role -eq 5) -and -not $ForceDomain) {
    Say 'domain member: time comes from the domain hierarchy; set ForceDomainMembers=true to override'
    if ($role -eq 5) { Finish 'skipped' 'none' 'pdc-emulator' }
    Finish 'skipped' 'none' 'domain-member'
}
$pdc = ($role -eq 5)

# Group Policy values override the service key: writing there would be undone by the next refresh.
$policy = @()
foreach ($pair in @(@("$PolicyKey\Parameters", 'NtpServer'), @("$PolicyKey\Parameters", 'Type'), @("$PolicyKey\TimeProviders\NtpClient", 'SpecialPollInterval'), @("$PolicyKey\TimeProviders\NtpClient", 'Enabled'))) {
    $v = Get-RegValue $pair[0] $pair[1]
    if ($null -ne $v -and ([string]$v).Trim() -ne '') { $policy += "$($pair[1])=$v" }
}
if ($policy.Count -gt 0) {
    Say "Group Policy manages W32Time ($($policy -join ' ')): change the GPO, not this host"
    Finish 'skipped' 'none' 'group-policy-managed'
}

$svc = Get-Service -Name W32Time -ErrorAction SilentlyContinue
if ($null -eq $svc) { Finish 'failed' 'preflight' 'w32time-service-missing' }

# ---------------------------------------------------------------- state
$build = [Environment]::OSVersion.Version.Build
$cur = Get-RegValue 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion' 'CurrentBuildNumber'
if ($null -ne $cur) { $b = 0; if ([int]::TryParse([string]$cur, [ref]$b)) { $build = $b } }
# AWS's AMIs: 900 s, 1024 s from Windows Server 2025 (build 26100).
if ($build -ge 26100) { $specialPoll = 1024 } else { $specialPoll = 900 }
$desired = Get-DesiredValues $Peer $specialPoll $pdc

$previous = @()
$diff = @()
$coreDiffers = $false
foreach ($d in $desired) {
    $v = Get-RegValue $d.Key $d.Name
    $previous += @{ Key = $d.Key; Name = $d.Name; Exists = ($null -ne $v); Value = $v; Kind = $d.Kind }
    if (-not (Test-ValueEqual $v $d.Value)) {
        $diff += $d
        if ($d.Core) { $coreDiffers = $true }
    }
}
foreach ($p in $previous) {
    if ($p.Exists) { Say "before: $($p.Name)=$($p.Value)" } else { Say "before: $($p.Name) absent" }
}
# The SCM must answer for the service's start type and triggers before they are judged: what could
# not be read is never acted on.
$prevStartMode = Get-W32TimeStartMode
if ($null -eq $prevStartMode) { Finish 'failed' 'preflight' 'service-start-type-unreadable' }
Say "before: start type=$prevStartMode"
$startDiffers = ($prevStartMode -ne 'Auto')
$q = Invoke-System32 'sc.exe' 'qtriggerinfo w32time' $CallTimeoutSeconds
if ($q.Code -ne 0) {
    Say "sc.exe qtriggerinfo w32time: $($q.Code) $(Get-Short $q.Out)"
    Finish 'failed' 'preflight' 'service-triggers-unreadable'
}
$prevTriggers = Read-Triggers
$prevTriggerText = Format-Triggers $prevTriggers
$prevTriggerSig = Get-TriggerSignature $prevTriggers
$triggersDiffer = ($prevTriggerSig -ne $WantedTriggers)
Say "before: triggers (action/type/guid)=$prevTriggerSig"

# Verified when the reference id is the Amazon endpoint's (0xA9FEA97B = 169.254.169.123); IPv6
# reference ids are hashes, so there the Source position must name fd00:ec2::123.
function Test-SyncedToAmazon {
    [OutputType([bool])] param()
    $s = Get-StatusValues
    if ($s.Code -ne 0 -or $s.Values.Count -lt 9) { return $false }
    if ($Peer -eq '169.254.169.123') { return $s.Values[5].ToUpperInvariant().StartsWith('0XA9FEA97B') }
    return $s.Values[7].ToLowerInvariant().StartsWith('fd00:ec2::123')
}

# Compliant: AWS's documented values in place, the service running and synchronised to Amazon. Its
# start type and triggers are not judged then: Windows' defaults (Manual, domain-join triggers)
# keep a running service running, and rewriting them would change a host that works.
$running = ($svc.Status -eq 'Running')
if (-not $coreDiffers -and $running -and (Test-SyncedToAmazon)) {
    if ($diff.Count -gt 0 -or $startDiffers -or $triggersDiffer) { Say 'start type and triggers left as they are' }
    Finish 'already-compliant' 'none' 'amazon-source-selected'
}
# Every value in place and the service running: a resync is all it needs, nothing is written.
# Otherwise the whole AWS configuration is applied, start type and triggers included, so that the
# service it starts also starts after the next boot.
if ($diff.Count -eq 0 -and $running) {
    $startDiffers = $false
    $triggersDiffer = $false
}
$changes = $diff.Count
if ($startDiffers) { $changes += 1 }
if ($triggersDiffer) { $changes += 1 }

if ($DryRun) {
    foreach ($d in $diff) { Say "would set $($d.Name)=$($d.Value)" }
    if ($startDiffers) { Say 'would set start type Auto (sc.exe config w32time start= auto)' }
    if ($triggersDiffer) { Say 'would set triggers start/networkon stop/networkoff' }
    if ($changes -eq 0) { Finish 'would-change' 'resync' 'configured-not-synchronized' }
    Finish 'would-change' 'set-amazon-time-sync' 'dry-run'
}

# ---------------------------------------------------------------- apply
function Set-RegValue($Key, $Name, $Value, $Kind) {
    if ($null -eq (Get-ItemProperty -Path $Key -Name $Name -ErrorAction SilentlyContinue)) {
        New-ItemProperty -Path $Key -Name $Name -Value $Value -PropertyType $Kind -Force -ErrorAction Stop | Out-Null
    } else {
        Set-ItemProperty -Path $Key -Name $Name -Value $Value -ErrorAction Stop
    }
}

# sc.exe deletes the triggers (live and registry), then the recorded subkeys are written back.
function Restore-Triggers {
    $r = Invoke-System32 'sc.exe' 'triggerinfo w32time delete' $CallTimeoutSeconds
    if ($r.Code -ne 0) { Say "sc.exe triggerinfo w32time delete: $($r.Code) $(Get-Short $r.Out)" }
    foreach ($t in $prevTriggers) {
        $k = "$TriggerKey\$($t.Sub)"
        try {
            if ($null -eq (Get-Item -Path $k -ErrorAction SilentlyContinue)) { New-Item -Path $k -Force -ErrorAction Stop | Out-Null }
            foreach ($v in $t.Values) {
                $val = $v.Value
                if ($v.Kind -eq 'Binary') { $val = [byte[]]$val }
                Set-RegValue $k $v.Name $val $v.Kind
            }
        } catch { Say "rollback write of trigger $($t.Sub) failed: $($_.Exception.Message)" }
    }
}

# Restores every recorded value exactly (a value that did not exist is deleted), the triggers and
# the start type if they were touched, and the service's state; then re-reads all of it.
function Restore-Previous([string]$Action, [string]$Reason) {
    Say "rolling back to the recorded values ($Reason)"
    # Only what differs is written back: a value whose write failed is still as found.
    foreach ($p in $previous) {
        try {
            if ($p.Exists) { if (-not (Test-ValueEqual (Get-RegValue $p.Key $p.Name) $p.Value)) { Set-RegValue $p.Key $p.Name $p.Value $p.Kind } }
            elseif ($null -ne (Get-ItemProperty -Path $p.Key -Name $p.Name -ErrorAction SilentlyContinue)) {
                Remove-ItemProperty -Path $p.Key -Name $p.Name -ErrorAction Stop
            }
        } catch { Say "rollback write of $($p.Name) failed: $($_.Exception.Message)" }
    }
    if ($script:TriggersTouched) { Restore-Triggers }
    if (Test-W32TimeStatus 'Running') {
        $u = Invoke-W32tm '/config /update' $CallTimeoutSeconds
        if ($u.Code -ne 0) { Say "rollback: w32tm /config /update: $($u.Code) $(Get-Short $u.Out)" }
    }
    # The service is left as it was found: restarted on the restored values, or stopped again. The
    # start type comes back after that: a service found running although Disabled could not be
    # restarted otherwise.
    if ($running) { if (-not (Restart-W32Time)) { Say 'W32Time did not restart after the rollback' } }
    elseif (-not (Stop-W32Time)) { Say 'W32Time did not stop after the rollback' }
    if ($script:StartTypeTouched -and (Get-W32TimeStartMode) -ne $prevStartMode) { $null = Set-W32TimeStartMode $prevStartMode }
    $bad = @()
    foreach ($p in $previous) {
        $v = Get-RegValue $p.Key $p.Name
        if ($p.Exists) { if (-not (Test-ValueEqual $v $p.Value)) { $bad += $p.Name } }
        elseif ($null -ne $v) { $bad += $p.Name }
    }
    if ($script:TriggersTouched -and (Format-Triggers (Read-Triggers)) -ne $prevTriggerText) { $bad += 'TriggerInfo' }
    if ($script:StartTypeTouched -and (Get-W32TimeStartMode) -ne $prevStartMode) { $bad += 'start-type' }
    $was = 'Stopped'
    if ($running) { $was = 'Running' }
    if (-not (Test-W32TimeStatus $was)) { $bad += "service-not-$($was.ToLowerInvariant())" }
    if ($bad.Count -gt 0) {
        Say "rollback incomplete: $($bad -join ', ') differ from what was found"
        Finish 'failed' $Action "rollback-failed-after-$Reason"
    }
    Finish 'rolled-back' $Action $Reason
}

$action = 'set-amazon-time-sync'
if ($changes -eq 0) { $action = 'resync' }
foreach ($d in $diff) {
    try { Set-RegValue $d.Key $d.Name $d.Value $d.Kind; Say "set $($d.Name)=$($d.Value)" }
    catch { Say "writing $($d.Name) failed: $($_.Exception.Message)"; Restore-Previous $action 'registry-write-failed' }
}
foreach ($d in $diff) {
    $now = Get-RegValue $d.Key $d.Name
    if (-not (Test-ValueEqual $now $d.Value)) { Say "$($d.Name) reads '$now'"; Restore-Previous $action 'registry-not-updated' }
}
if ($triggersDiffer) {
    $script:TriggersTouched = $true
    $r = Invoke-System32 'sc.exe' 'triggerinfo w32time start/networkon stop/networkoff' $CallTimeoutSeconds
    if ($r.Code -ne 0) { Say "sc.exe triggerinfo w32time: $($r.Code) $(Get-Short $r.Out)"; Restore-Previous $action 'service-triggers-not-set' }
    $sig = Get-TriggerSignature (Read-Triggers)
    if ($sig -ne $WantedTriggers) { Say "triggers read $sig after sc.exe triggerinfo"; Restore-Previous $action 'service-triggers-not-updated' }
    Say 'set triggers start/networkon stop/networkoff'
}
# Automatic start, through the SCM: a Manual or trigger-only service loses the fix at the next
# reboot, and a Disabled one cannot be started at all. Writing the registry's Start value instead
# would change nothing until the next boot.
if ($startDiffers) {
    $script:StartTypeTouched = $true
    $why = Set-W32TimeStartMode 'Auto'
    if ($why -ne '') { Restore-Previous $action $why }
    Say 'set start type Auto (sc.exe config w32time start= auto), read back from the SCM'
}

if (-not $running) {
    Say 'starting W32Time'
    if (-not (Start-W32Time)) { Restore-Previous $action 'w32time-did-not-start' }
}
$u = Invoke-W32tm '/config /update' $CallTimeoutSeconds
if ($u.Code -ne 0) { Say "w32tm /config /update: $($u.Code) $(Get-Short $u.Out)"; Restore-Previous $action 'w32tm-config-update-failed' }

# Verify: a blocking /resync (its exit code is language-neutral), then the reference id. One
# service restart before giving up. A clock beyond MaxPos/NegPhaseCorrection is refused by
# W32Time (last sync error 3): that is its own reason, not a plain failure.
$deadline = (Get-Date).AddSeconds($VerifySeconds)
$restarted = $false
$tooFar = $false
$r = $null
$null = Invoke-W32tm '/resync /rediscover /nowait' 10
while ($true) {
    $left = [int][Math]::Ceiling(($deadline - (Get-Date)).TotalSeconds)
    if ($left -lt 1) { break }
    $t = $left
    if ($t -gt $CallTimeoutSeconds) { $t = $CallTimeoutSeconds }
    $r = Invoke-W32tm '/resync' $t
    if ($r.Code -eq 0 -and (Test-SyncedToAmazon)) {
        Say "verified: reference id of $Peer"
        Finish 'changed' $action ''
    }
    $s = Get-StatusValues
    if ($s.Values.Count -ge 15 -and $s.Values[14] -match '^3\b') { $tooFar = $true; break }
    if (-not $restarted -and (Get-Date) -ge $deadline.AddSeconds(-$VerifySeconds / 2)) {
        Say 'not yet synchronised: restarting W32Time once'
        if (-not (Restart-W32Time)) { Say 'W32Time restart failed' }
        $restarted = $true
        continue
    }
    Start-Sleep -Seconds 1
}
if ($null -ne $r -and $r.Code -ne 0) { Say "w32tm /resync: $($r.Code) $(Get-Short $r.Out)" }

if ($tooFar) {
    Say 'W32Time refuses the correction: the clock is further off than MaxPosPhaseCorrection/MaxNegPhaseCorrection allow; set the clock first'
    Restore-Previous $action 'clock-too-far-off'
}
Say "not synchronised from $Peer within ${VerifySeconds}s"
# Nothing was written: nothing to roll back.
if ($changes -eq 0 -and $running) { Finish 'failed' 'verify' 'configured-not-synchronized' }
Restore-Previous $action "not-synchronized-within-${VerifySeconds}s"
