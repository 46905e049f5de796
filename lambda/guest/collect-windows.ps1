# timesync-guard collector for Windows (report format v1). PowerShell 5.1 compatible.
#
# Read-only: it changes nothing; its only network use is one IMDSv2 token PUT and one GET to the
# instance's own IMDS (with timeouts). It prints the same report
# structure as collect-linux.sh (magic line, key=value header, [section rc=N] blocks, TSG-END),
# and `npx timesync-guard diagnose` judges it. w32tm text is localized: it is passed through raw,
# together with language-neutral registry values, and the parser decides what it can read.
# Every probe runs with a timeout so a hung w32tm cannot hold the SSM command.
#
# No param() block: an SSM document may prepend `$TsgArgs = @{ ... }`; by hand, defaults apply.
# Keys: ProbeTimeoutSeconds (default 4), MaxChars (default 2400: the plain report's budget),
# Plain ('1': print the plain report, never the compressed envelope), ImdsUrl (default
# http://169.254.169.254; 'none' = no probe), ImdsTimeoutSeconds (default 2).
# PowerShell 4.0 compatible where it costs nothing (no ::new, no classes); tests run it under pwsh.

$ErrorActionPreference = 'SilentlyContinue'
$ProgressPreference = 'SilentlyContinue'
if ($null -eq $TsgArgs) { $TsgArgs = @{} }
$ProbeTimeoutMs = 4000
if ($TsgArgs.ContainsKey('ProbeTimeoutSeconds')) { $ProbeTimeoutMs = [int]$TsgArgs['ProbeTimeoutSeconds'] * 1000 }
$MaxChars = 2400
if ($TsgArgs.ContainsKey('MaxChars')) { $MaxChars = [int]$TsgArgs['MaxChars'] }

$out = New-Object System.Collections.Generic.List[string]

function Invoke-Probe([string]$Name, [string]$Exe, [string]$Arguments, [int]$MaxLines) {
  $rc = 0
  $text = ''
  try {
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = $Exe
    $psi.Arguments = $Arguments
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.CreateNoWindow = $true
    $p = [System.Diagnostics.Process]::Start($psi)
    $stdout = $p.StandardOutput.ReadToEndAsync()
    $stderr = $p.StandardError.ReadToEndAsync()
    if ($p.WaitForExit($ProbeTimeoutMs)) {
      # Any exit code is printed as is: w32tm exits with an HRESULT such as -2147023834.
      $rc = $p.ExitCode
      $text = $stdout.Result + $stderr.Result
    } else {
      # By PID: the hung process and nothing else.
      try { Stop-Process -Id $p.Id -Force -ErrorAction Stop } catch { try { $p.Kill() } catch { } }
      $rc = 124
      $text = 'probe timed out'
    }
  } catch {
    $rc = 127
    $text = "cannot run ${Exe}: $($_.Exception.Message)"
  }
  $out.Add("[$Name rc=$rc]")
  $n = 0
  foreach ($line in ($text -split "`r?`n")) {
    $l = $line.TrimEnd()
    if ($l -eq '' -or $l.StartsWith('TSG-')) { continue }
    if ($l.Length -gt 200) { $l = $l.Substring(0, 200) }
    $out.Add($l)
    $n++
    if ($n -ge $MaxLines) { break }
  }
}

# --- header ---------------------------------------------------------------------------------
# Not [DateTimeOffset]::ToUnixTimeSeconds(): that needs .NET 4.6, absent on older Windows Server images.
# Not [DateTime]::new either: PowerShell 4.0 (Server 2012 R2) has no ::new.
$epoch = New-Object DateTime 1970, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc)
$now = [int64][Math]::Floor(([DateTime]::UtcNow - $epoch).TotalSeconds)
$out.Add('TSG-REPORT v1 windows')
$out.Add('collector=1')
$out.Add("now=$now")
$osv = [Environment]::OSVersion.Version
$out.Add("os=windows $($osv.Major).$($osv.Minor).$($osv.Build)")

$svc = Get-Service -Name W32Time -ErrorAction SilentlyContinue
if ($svc -and $svc.Status -eq 'Running') { $out.Add('daemons=w32time') } else { $out.Add('daemons=none') }
$out.Add('detect=service')

# CIM with a timeout: a wedged WMI repository must not hold the probe budget. No Get-WmiObject
# fallback: it has no timeout and would wait on the same repository.
$cs = Get-CimInstance -ClassName Win32_ComputerSystem -OperationTimeoutSec 5 -ErrorAction SilentlyContinue
if ($null -ne $cs) {
  $out.Add("domain=$(([bool]$cs.PartOfDomain).ToString().ToLower())")
  if ($null -ne $cs.DomainRole) { $out.Add("domainrole=$([int]$cs.DomainRole)") }
}

$ct = @()
foreach ($s in @('docker', 'containerd', 'kubelet', 'AmazonECS')) {
  $x = Get-Service -Name $s -ErrorAction SilentlyContinue
  if ($x -and $x.Status -eq 'Running') { $ct += ($s.ToLower() -replace 'amazonecs', 'ecs') }
}
foreach ($pn in @('dockerd', 'containerd', 'kubelet')) {
  if ((Get-Process -Name $pn -ErrorAction SilentlyContinue) -and ($ct -notcontains ($pn -replace 'dockerd', 'docker'))) { $ct += ($pn -replace 'dockerd', 'docker') }
}
if ($ct.Count -gt 0) { $out.Add("containers=$($ct -join ',')") } else { $out.Add('containers=none') }
$out.Add('ptp=none')

# Machine-wide proxy variables (IMDS requests must bypass any proxy). SSM output is readable
# account-wide, so only what the check needs leaves the host: HTTP_PROXY, HTTPS_PROXY and NO_PROXY
# (Windows names ignore case: one read each), nothing else. In each value everything before the
# LAST "@" or "%40" (user, user:password, whatever the password holds) becomes "***"; a proxy value
# that is then not plainly [scheme://][***@]host[:port] is printed as "***" (still "set").
function Get-RedactedProxyValue([string]$Name, [string]$Value) {
  $v = ($Value -replace '[\x00-\x1f\x7f]', ' ').Trim()
  $end = $v.LastIndexOf('@')
  $pct = $v.ToLowerInvariant().LastIndexOf('%40')
  if ($pct -ge 0 -and ($pct + 2) -gt $end) { $end = $pct + 2 }
  if ($end -ge 0) {
    $scheme = ''
    if ($v -match '^[A-Za-z][A-Za-z0-9+.-]*://' -and $Matches[0].Length -le $end) { $scheme = $Matches[0] }
    $v = $scheme + '***@' + $v.Substring($end + 1)
  }
  if ($Name -ne 'NO_PROXY' -and $v -notmatch '^([A-Za-z][A-Za-z0-9+.-]*://)?(\*\*\*@)?([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]+)?/?$') { $v = '***' }
  return $v
}
$envKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
$proxyLines = @()
foreach ($v in @('HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY')) {
  $val = (Get-ItemProperty -Path $envKey -Name $v -ErrorAction SilentlyContinue).$v
  if ($val) {
    $l = "env:$v=" + (Get-RedactedProxyValue $v ([string]$val))
    if ($l.Length -gt 200) { $l = $l.Substring(0, 200) }
    $proxyLines += $l
  }
}
if ($proxyLines.Count -gt 0) {
  $out.Add('[proxy rc=0]')
  foreach ($l in $proxyLines) { $out.Add($l) }
}

# --- Windows Time -----------------------------------------------------------------------------
$w32tm = Join-Path $env:SystemRoot 'System32\w32tm.exe'
Invoke-Probe 'w32tm-status' $w32tm '/query /status /verbose' 30

# Registry values are language-neutral. Only values that exist are printed (an empty NtpServer on a
# domain member is no value); Group Policy values (HKLM\SOFTWARE\Policies) win over the service
# key and are printed with a Policy prefix.
function Add-RegValue([string]$Key, [string]$Name, [string]$As) {
  $item = Get-ItemProperty -Path $Key -Name $Name -ErrorAction SilentlyContinue
  if ($null -eq $item) { return }
  $v = [string]$item.$Name
  if ($v.Trim() -ne '') { $script:reg += "$As=$($v.Trim())" }
}
$script:reg = @()
$svcKey = 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time'
$polKey = 'HKLM:\SOFTWARE\Policies\Microsoft\W32Time'
Add-RegValue "$svcKey\Parameters" 'NtpServer' 'NtpServer'
Add-RegValue "$svcKey\Parameters" 'Type' 'Type'
Add-RegValue "$svcKey\TimeProviders\NtpClient" 'SpecialPollInterval' 'SpecialPollInterval'
Add-RegValue "$svcKey\TimeProviders\NtpClient" 'Enabled' 'NtpClientEnabled'
Add-RegValue "$svcKey\Config" 'MaxPosPhaseCorrection' 'MaxPosPhaseCorrection'
Add-RegValue "$svcKey\Config" 'MaxNegPhaseCorrection' 'MaxNegPhaseCorrection'
Add-RegValue $svcKey 'Start' 'ServiceStart'
Add-RegValue "$polKey\Parameters" 'NtpServer' 'PolicyNtpServer'
Add-RegValue "$polKey\Parameters" 'Type' 'PolicyType'
Add-RegValue "$polKey\TimeProviders\NtpClient" 'SpecialPollInterval' 'PolicySpecialPollInterval'
Add-RegValue "$polKey\TimeProviders\NtpClient" 'Enabled' 'PolicyNtpClientEnabled'
$out.Add('[w32time-reg rc=0]')
foreach ($l in $script:reg) { $out.Add($l) }

# /configuration is long: keep only the language-neutral value lines that matter.
$cfgStart = $out.Count
Invoke-Probe 'w32tm-config' $w32tm '/query /configuration' 200
$keep = '^(NtpServer|Type|SpecialPollInterval|AnnounceFlags|MaxPosPhaseCorrection|MaxNegPhaseCorrection|UpdateInterval)\s*:'
$filtered = New-Object System.Collections.Generic.List[string]
for ($i = 0; $i -lt $out.Count; $i++) {
  if ($i -le $cfgStart -or $out[$i] -match $keep) { $filtered.Add($out[$i]) }
}
$out = $filtered

# --- IMDS: can this guest get a token, and what time does AWS say it is? ---------------------------
# One IMDSv2 token PUT (60 s TTL) and one GET through .NET's HttpClient, without a proxy (proxies are
# judged apart) and with a timeout on each; only status codes, latencies and the Date header are
# printed, never the token nor the answer. Off with AWS_EC2_METADATA_DISABLED=true (the SDKs' switch).
$ImdsUrl = 'http://169.254.169.254'
if ($TsgArgs.ContainsKey('ImdsUrl')) { $ImdsUrl = [string]$TsgArgs['ImdsUrl'] }
$ImdsTimeoutMs = 2000
if ($TsgArgs.ContainsKey('ImdsTimeoutSeconds')) { $ImdsTimeoutMs = [int]$TsgArgs['ImdsTimeoutSeconds'] * 1000 }
function Invoke-ImdsStep($Client, [string]$Method, [string]$Path, [string]$Header, [string]$Value) {
  $r = @{ st = 'error'; ms = 0; body = $null }
  $sw = [Diagnostics.Stopwatch]::StartNew()
  try {
    $req = New-Object System.Net.Http.HttpRequestMessage -ArgumentList (New-Object System.Net.Http.HttpMethod $Method), ($ImdsUrl + $Path)
    [void]$req.Headers.TryAddWithoutValidation($Header, $Value)
    $task = $Client.SendAsync($req)
    if (-not $task.Wait($ImdsTimeoutMs + 500)) {
      $r.st = 'timeout'
    } else {
      $resp = $task.Result
      $r.st = [string][int]$resp.StatusCode
      # A Nullable<DateTimeOffset>: PowerShell unwraps it (no .Value).
      $d = $resp.Headers.Date
      if ($null -ne $d) {
        $script:imdsDate = $d.UtcDateTime.ToString('r', [Globalization.CultureInfo]::InvariantCulture)
        $script:imdsLocal = [int64][Math]::Floor(([DateTime]::UtcNow - $epoch).TotalSeconds)
      }
      if ($resp.IsSuccessStatusCode) { $r.body = $resp.Content.ReadAsStringAsync().Result }
    }
  } catch {
    $e = $_.Exception
    while ($null -ne $e.InnerException) { $e = $e.InnerException }
    if ($e -is [System.Threading.Tasks.TaskCanceledException] -or $e -is [TimeoutException]) { $r.st = 'timeout' }
    elseif ($e -is [System.Net.Sockets.SocketException]) { $r.st = 'refused' }
  }
  $r.ms = [int64]$sw.ElapsedMilliseconds
  return $r
}
$script:imdsDate = $null
$script:imdsLocal = $null
$out.Add('[imds rc=0]')
if ($ImdsUrl -eq 'none' -or $env:AWS_EC2_METADATA_DISABLED -eq 'true') {
  $out.Add('via=off')
} else {
  $client = $null
  try {
    Add-Type -AssemblyName System.Net.Http -ErrorAction Stop
    $handler = New-Object System.Net.Http.HttpClientHandler
    $handler.UseProxy = $false
    $client = New-Object System.Net.Http.HttpClient -ArgumentList $handler
    $client.Timeout = [TimeSpan]::FromMilliseconds($ImdsTimeoutMs)
  } catch { $client = $null }
  if ($null -eq $client) {
    $out.Add('via=none')
  } else {
    $put = Invoke-ImdsStep $client 'PUT' '/latest/api/token' 'X-aws-ec2-metadata-token-ttl-seconds' '60'
    $line = "via=dotnet put=$($put.st) put_ms=$($put.ms)"
    if ($put.st -eq '200' -and $null -ne $put.body) {
      $get = Invoke-ImdsStep $client 'GET' '/latest/meta-data/instance-id' 'X-aws-ec2-metadata-token' ([string]$put.body).Trim()
      $line += " get=$($get.st) get_ms=$($get.ms)"
    }
    if ($null -ne $script:imdsDate) { $line += " local=$($script:imdsLocal) date=$($script:imdsDate)" }
    $out.Add($line)
    $client.Dispose()
  }
}

# --- ENA: link-local drops ------------------------------------------------------------------------
# The ENA driver (2.2.2 and later, with its EnaPerfCounters manifest) counts packets dropped over the
# link-local allowance in the "ENA Packets Shaping" counter set; older drivers have no counter
# ("unsupported"). Windows exposes no PHC error bound. Uptime from the performance counter clock (QPC
# counts from boot), since the ENA counters restart at boot.
$out.Insert(4, "uptime=$([int64]([Diagnostics.Stopwatch]::GetTimestamp() / [Diagnostics.Stopwatch]::Frequency))")
$out.Add('[ena rc=0]')
$enaAdapters = @(Get-NetAdapter -ErrorAction SilentlyContinue | Where-Object { $_.InterfaceDescription -like '*Elastic Network Adapter*' })
$enaVer = 'unknown'
if ($enaAdapters.Count -gt 0 -and $enaAdapters[0].DriverVersionString) { $enaVer = ([string]$enaAdapters[0].DriverVersionString) -replace '[^A-Za-z0-9._-]', '' }
$samples = $null
try { $samples = @((Get-Counter -Counter '\ENA Packets Shaping(*)\Link local packet rate allowance exceeded' -MaxSamples 1 -ErrorAction Stop).CounterSamples) } catch { $samples = $null }
$n = 0
if ($null -ne $samples -and $samples.Count -gt 0) {
  foreach ($s in $samples) {
    if ($n -ge 8) { break }
    $n++
    $out.Add("$(([string]$s.InstanceName) -replace '[^A-Za-z0-9._-]', '_') driver=$enaVer linklocal_allowance_exceeded=$([int64]$s.RawValue)")
  }
} else {
  foreach ($a in $enaAdapters) {
    if ($n -ge 8) { break }
    $n++
    $out.Add("$(([string]$a.Name) -replace '[^A-Za-z0-9._-]', '_') driver=$enaVer linklocal_allowance_exceeded=unsupported")
  }
}
if ($n -eq 0) { $out.Add('interfaces=none') }

# --- size budget ----------------------------------------------------------------------------------
# The report with its end marker, at most about $Budget characters (lines dropped from the end, and said).
function Get-Report([int]$Budget) {
  $lines = New-Object System.Collections.Generic.List[string]
  foreach ($l in $out) { $lines.Add($l) }
  $total = ($lines | Measure-Object -Property Length -Sum).Sum + $lines.Count
  $cut = 0
  while ($total -gt ($Budget - 40) -and $lines.Count -gt 1) {
    $last = $lines[$lines.Count - 1]
    $lines.RemoveAt($lines.Count - 1)
    $total -= ($last.Length + 1)
    $cut++
  }
  if ($cut -gt 0) { $lines.Add("TSG-CUT report $cut") }
  $lines.Add('TSG-END')
  return ,$lines.ToArray()
}

# --- compressed envelope --------------------------------------------------------------------------
# The report gzip-compressed (.NET GZipStream) and base64-encoded on one line with its size and
# SHA-256 prefix (docs/guest-scripts.md, "Report envelope"), so that it fits the 2,500 characters SSM
# returns inline. $null when it cannot be built or would not fit: the plain report is printed instead.
function Get-Envelope([string[]]$Lines) {
  if ($TsgArgs.ContainsKey('Plain') -and [string]$TsgArgs['Plain'] -eq '1') { return $null }
  try {
    $bytes = [System.Text.Encoding]::UTF8.GetBytes((($Lines -join "`n") + "`n"))
    $ms = New-Object System.IO.MemoryStream
    $gz = New-Object System.IO.Compression.GZipStream($ms, [System.IO.Compression.CompressionMode]::Compress)
    $gz.Write($bytes, 0, $bytes.Length)
    $gz.Close()
    $b64 = [Convert]::ToBase64String($ms.ToArray())
    # The CSP class first: under the FIPS policy .NET Framework's default SHA256 (managed) throws.
    $sha = $null
    try { $sha = New-Object System.Security.Cryptography.SHA256CryptoServiceProvider } catch { $sha = $null }
    if ($null -eq $sha) { $sha = [System.Security.Cryptography.SHA256]::Create() }
    $hash = $sha.ComputeHash($bytes)
    $hex = -join ($hash[0..7] | ForEach-Object { $_.ToString('x2') })
    $line = "TSG-REPORT-GZ1 $($bytes.Length) $hex $b64 TSG-END"
    if ($hex.Length -eq 16 -and $line.Length -le 2400) { return $line }
  } catch {
    return $null
  }
  return $null
}

# Compressed, the report keeps far more; if even that does not fit, the plain budget applies.
$sealed = Get-Envelope (Get-Report 12000)
$plain = $null
if ($null -eq $sealed) {
  $plain = Get-Report $MaxChars
  $sealed = Get-Envelope $plain
}
if ($null -ne $sealed) { Write-Output $sealed } else { foreach ($l in $plain) { Write-Output $l } }
