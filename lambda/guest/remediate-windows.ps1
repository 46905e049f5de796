# timesync-guard: point Windows Time (w32time) at the Amazon Time Sync Service.
#
# Windows PowerShell 5.1, run as Administrator. Idempotent. No param() block: an SSM document
# prepends `$TsgArgs = @{ DryRun = '...'; ForceDomainMembers = '...'; VerifySeconds = '...' }`;
# by hand the defaults apply, or set $TsgArgs first and call the script with `&` (not dot-sourced:
# its `exit` would close your session). An empty value means the default.
#   DryRun              true|false  report what would change, change nothing          (default false)
#   ForceDomainMembers  true|false  also change domain members (normally left to the DC) (default false)
#   VerifySeconds       1..3600     bounded wait for a sync from the Amazon endpoint    (default 60)
# Checks are language-neutral: registry values, `w32tm /query /source` and the endpoint address
# in `w32tm /query /status`, never the (localised) label text.
# The last output line is always:
#   TSG-REMEDIATE v1 result=<...> daemon=w32time action=<...> reason=<...>
# Exit 0: already-compliant, changed, would-change, skipped. Exit 1: failed. Exit 2: rolled-back.

$ErrorActionPreference = 'Continue'
$AmazonIp = '169.254.169.123'
$PeerList = '169.254.169.123,0x9'
$ParamKey = 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters'
$script:OutLen = 0
$script:Truncated = $false

# SSM keeps the first 2,500 characters of output: progress stays well below that.
function Say([string]$Text) {
    $line = "tsg: $Text"
    if ($script:OutLen + $line.Length + 1 -le 2000) {
        Write-Output $line
        $script:OutLen += $line.Length + 1
    } elseif (-not $script:Truncated) {
        Write-Output 'tsg: ... (further progress lines omitted)'
        $script:Truncated = $true
    }
}

function Get-Token([string]$Text) {
    $t = ($Text -replace '[^A-Za-z0-9._~-]', '-')
    if ($t.Length -gt 80) { $t = $t.Substring(0, 80) }
    return $t
}

function Finish([string]$Result, [string]$Action, [string]$Reason) {
    Write-Output ("TSG-REMEDIATE v1 result={0} daemon=w32time action={1} reason={2}" -f $Result, (Get-Token $Action), (Get-Token $Reason))
    switch ($Result) {
        'rolled-back' { exit 2 }
        'failed' { exit 1 }
        default { exit 0 }
    }
}

function Get-TsgArg([string]$Name, [string]$Default) {
    if ((Test-Path variable:TsgArgs) -and ($TsgArgs -is [hashtable]) -and $TsgArgs.ContainsKey($Name)) {
        $v = [string]$TsgArgs[$Name]
        if ($v.Trim() -ne '') { return $v.Trim() }
    }
    return $Default
}

# $true/$false, or $null for a value it does not understand. It never calls Finish itself: it is
# used in assignments, which would swallow the final line.
function Get-TsgBool([string]$Name, [string]$Default) {
    $v = (Get-TsgArg $Name $Default).ToLowerInvariant()
    if (@('true', 'yes', '1') -contains $v) { return $true }
    if (@('false', 'no', '0') -contains $v) { return $false }
    return $null
}

# Runs w32tm and returns its output as one string; $LASTEXITCODE is left for the caller.
function Invoke-W32tm([string[]]$Arguments) {
    $o = & w32tm.exe @Arguments 2>&1 | Out-String
    return $o
}

function Get-ParamValue([string]$Name) {
    $p = Get-ItemProperty -Path $ParamKey -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $p) { return $null }
    return [string]$p.$Name
}

# NtpServer is a space-separated list of `host,flags`: the Amazon endpoint must be in it.
function Test-AmazonPeer([string]$NtpServer) {
    if ([string]::IsNullOrEmpty($NtpServer)) { return $false }
    foreach ($peer in ($NtpServer -split '\s+')) {
        if (($peer -split ',')[0] -eq $AmazonIp) { return $true }
    }
    return $false
}

function Test-SyncedToAmazon {
    $source = (Invoke-W32tm @('/query', '/source')).Trim()
    if (-not $source.StartsWith($AmazonIp)) { return $false }
    # The reference id of the last good sync names the source IP (label text is localised).
    $status = Invoke-W32tm @('/query', '/status')
    return ($LASTEXITCODE -eq 0) -and ($status.Contains($AmazonIp) -or $status.ToUpperInvariant().Contains('0XA9FEA97B'))
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
Say "options: DryRun=$DryRun ForceDomainMembers=$ForceDomain VerifySeconds=$VerifySeconds"

# ---------------------------------------------------------------- preflight
try {
    $identity = [Security.Principal.WindowsIdentity]::GetCurrent()
    $isAdmin = ([Security.Principal.WindowsPrincipal]$identity).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
} catch { $isAdmin = $false }
if (-not $isAdmin -and -not $DryRun) { Finish 'failed' 'preflight' 'must-run-as-administrator' }

$partOfDomain = $false
try {
    $partOfDomain = [bool](Get-CimInstance -ClassName Win32_ComputerSystem -ErrorAction Stop).PartOfDomain
} catch {
    try { $partOfDomain = [bool](Get-WmiObject -Class Win32_ComputerSystem -ErrorAction Stop).PartOfDomain }
    catch { Finish 'failed' 'preflight' 'domain-membership-unknown' }
}
if ($partOfDomain -and -not $ForceDomain) {
    Say 'domain member: time comes from the domain hierarchy; set ForceDomainMembers=true to override'
    Finish 'skipped' 'none' 'domain-member'
}

$svc = Get-Service -Name W32Time -ErrorAction SilentlyContinue
if ($null -eq $svc) { Finish 'failed' 'preflight' 'w32time-service-missing' }

# ---------------------------------------------------------------- state
$prevNtpServer = Get-ParamValue 'NtpServer'
$prevType = Get-ParamValue 'Type'
Say "current: NtpServer=$prevNtpServer Type=$prevType service=$($svc.Status)"

$configured = (Test-AmazonPeer $prevNtpServer) -and ($prevType -eq 'NTP')
if ($configured -and $svc.Status -eq 'Running' -and (Test-SyncedToAmazon)) {
    Finish 'already-compliant' 'none' 'amazon-source-selected'
}

if ($DryRun) {
    if ($configured) { Finish 'would-change' 'resync' 'configured-not-synchronized' }
    Say "would run: w32tm /config /manualpeerlist:`"$PeerList`" /syncfromflags:manual /update, then resync"
    Finish 'would-change' 'set-manual-peer' 'dry-run'
}

# ---------------------------------------------------------------- apply
function Restore-Previous {
    Say "restoring NtpServer=$prevNtpServer Type=$prevType"
    foreach ($pair in @(@('NtpServer', $prevNtpServer), @('Type', $prevType))) {
        if ($null -eq $pair[1]) {
            Remove-ItemProperty -Path $ParamKey -Name $pair[0] -ErrorAction SilentlyContinue
        } else {
            Set-ItemProperty -Path $ParamKey -Name $pair[0] -Value $pair[1] -ErrorAction SilentlyContinue
        }
    }
    Invoke-W32tm @('/config', '/update') | Out-Null
    Restart-Service -Name W32Time -ErrorAction SilentlyContinue
    Invoke-W32tm @('/resync', '/nowait') | Out-Null
}

if ($svc.Status -ne 'Running') {
    Say 'starting W32Time'
    try { Start-Service -Name W32Time -ErrorAction Stop }
    catch { Finish 'failed' 'start-service' 'w32time-did-not-start' }
}

$action = 'set-manual-peer'
if (-not $configured) {
    $o = Invoke-W32tm @('/config', "/manualpeerlist:$PeerList", '/syncfromflags:manual', '/update')
    if ($LASTEXITCODE -ne 0) {
        Say "w32tm /config failed ($LASTEXITCODE): $($o.Trim())"
        Restore-Previous
        Finish 'rolled-back' $action 'w32tm-config-failed'
    }
    # /update does not always rewrite both values when policy or an odd prior state interferes.
    if (-not ((Test-AmazonPeer (Get-ParamValue 'NtpServer')) -and ((Get-ParamValue 'Type') -eq 'NTP'))) {
        Restore-Previous
        Finish 'rolled-back' $action 'registry-not-updated'
    }
    Say "set NtpServer=$PeerList Type=NTP (previous values are in this output for a manual undo)"
} else {
    $action = 'resync'
}

Invoke-W32tm @('/resync', '/rediscover', '/nowait') | Out-Null
$deadline = (Get-Date).AddSeconds($VerifySeconds)
$nextResync = (Get-Date).AddSeconds(10)
while ((Get-Date) -lt $deadline) {
    if (Test-SyncedToAmazon) {
        Say "verified: synchronised from $AmazonIp"
        Finish 'changed' $action ''
    }
    if ((Get-Date) -ge $nextResync) {
        Invoke-W32tm @('/resync', '/nowait') | Out-Null
        $nextResync = (Get-Date).AddSeconds(10)
    }
    Start-Sleep -Seconds 2
}

Say "not synchronised from $AmazonIp within ${VerifySeconds}s"
if ($action -eq 'resync') { Finish 'failed' 'verify' 'configured-not-synchronized' }
Restore-Previous
Finish 'rolled-back' $action "not-synchronized-within-${VerifySeconds}s"
