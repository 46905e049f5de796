# Test-only stand-ins for the Windows cmdlets Linux pwsh lacks (never shipped). A function shadows
# a cmdlet of the same name, so the real guest script, run after this prelude, talks to an
# in-memory registry and service table persisted in $env:TSG_FAKE_STATE (JSON), which the
# stand-in w32tm.exe reads too.

function Read-FakeState { Get-Content -Raw -LiteralPath $env:TSG_FAKE_STATE | ConvertFrom-Json -AsHashtable }
function Write-FakeState($s) { $s | ConvertTo-Json -Depth 20 | Set-Content -LiteralPath $env:TSG_FAKE_STATE }
function Get-FakeKey([string]$Path) { return $Path.ToLowerInvariant().TrimEnd('\') }

function Get-ItemProperty {
    param([string]$Path, [string[]]$Name, $ErrorAction)
    $s = Read-FakeState
    $key = $s.registry[(Get-FakeKey $Path)]
    if ($null -eq $key) { return $null }
    $o = [ordered]@{}
    foreach ($n in $key.Keys) { if ($null -eq $Name -or $Name -contains $n) { $o[$n] = $key[$n].value } }
    if ($o.Count -eq 0) { return $null }
    return [pscustomobject]$o
}

function Set-FakeValue([string]$Path, [string]$Name, $Value, [string]$Kind) {
    $s = Read-FakeState
    if (($s.failWrites -as [string[]]) -contains $Name) { throw "Requested registry access is not allowed ($Name)" }
    if (($s.dropWrites -as [string[]]) -contains $Name) { $s.writes = [int]$s.writes + 1; Write-FakeState $s; return }
    $k = Get-FakeKey $Path
    if ($null -eq $s.registry[$k]) { $s.registry[$k] = @{} }
    $old = $s.registry[$k][$Name]
    if (-not $Kind) { if ($null -ne $old) { $Kind = $old.kind } else { $Kind = 'String' } }
    if ($Kind -eq 'DWord') { $Value = [int64]$Value }
    elseif ($Kind -eq 'Binary') { $Value = [int64[]]@($Value) }
    elseif ($Kind -eq 'MultiString') { $Value = [string[]]@($Value) }
    else { $Value = [string]$Value }
    $s.registry[$k][$Name] = @{ value = $Value; kind = $Kind }
    $s.writes = [int]$s.writes + 1
    Write-FakeState $s
}

# A registry key as Get-Item gives it (Microsoft.Win32.RegistryKey): its value names, kinds and values.
function Get-Item {
    param([string]$Path, $ErrorAction)
    $s = Read-FakeState
    $key = $s.registry[(Get-FakeKey $Path)]
    if ($null -eq $key) { return $null }
    $o = [pscustomobject]@{ Values = $key }
    $o | Add-Member -MemberType ScriptMethod -Name GetValueNames -Value { return [string[]]@($this.Values.Keys) }
    $o | Add-Member -MemberType ScriptMethod -Name GetValueKind -Value { param($n) return $this.Values[$n].kind }
    $o | Add-Member -MemberType ScriptMethod -Name GetValue -Value {
        param($n, $default, $options)
        $e = $this.Values[$n]
        if ($null -eq $e) { return $default }
        if ($e.kind -eq 'Binary') { return , [byte[]]@($e.value) }
        return $e.value
    }
    return $o
}

function New-Item {
    param([string]$Path, [switch]$Force, $ErrorAction)
    $s = Read-FakeState
    $k = Get-FakeKey $Path
    if ($null -eq $s.registry[$k]) { $s.registry[$k] = @{} }
    $s.writes = [int]$s.writes + 1
    Write-FakeState $s
}

function Set-ItemProperty {
    param([string]$Path, [string]$Name, $Value, [string]$Type, $ErrorAction)
    Set-FakeValue $Path $Name $Value $Type
}

function New-ItemProperty {
    param([string]$Path, [string]$Name, $Value, [string]$PropertyType, [switch]$Force, $ErrorAction)
    Set-FakeValue $Path $Name $Value $PropertyType
}

function Remove-ItemProperty {
    param([string]$Path, [string]$Name, $ErrorAction)
    $s = Read-FakeState
    if ((($s.failWrites -as [string[]]) + ($s.failRemoves -as [string[]])) -contains $Name) { throw "Requested registry access is not allowed ($Name)" }
    $k = Get-FakeKey $Path
    if ($null -ne $s.registry[$k]) { $s.registry[$k].Remove($Name) }
    $s.writes = [int]$s.writes + 1
    Write-FakeState $s
}

function Get-Service {
    param([string]$Name, $ErrorAction)
    $s = Read-FakeState
    $svc = $s.services[$Name.ToLowerInvariant()]
    if ($null -eq $svc) { return $null }
    return [pscustomobject]@{ Name = $Name; Status = $svc.status }
}

# Services are started and stopped through the sc.exe stand-in (sc.js), as the remediation does.

# A failing query: a terminating error under -ErrorAction Stop, else nothing (a plain `throw` would
# not stop a caller running with SilentlyContinue).
function Get-FakeComputerSystem([string]$Via, $Timeout, $ErrorAction) {
    $s = Read-FakeState
    $s.cimCalls += @("$Via timeout=$Timeout")
    Write-FakeState $s
    if ($s.cimFails) {
        if ([string]$ErrorAction -eq 'Stop') { throw 'The WS-Management service cannot process the request.' }
        return
    }
    return [pscustomobject]@{ DomainRole = $s.computer.DomainRole; PartOfDomain = $s.computer.PartOfDomain }
}
function Get-CimInstance {
    param([string]$ClassName, [string]$Filter, [int]$OperationTimeoutSec, $ErrorAction)
    if ($ClassName -eq 'Win32_Service') { return (Get-FakeServiceConfig $Filter $OperationTimeoutSec $ErrorAction) }
    Get-FakeComputerSystem 'cim' $OperationTimeoutSec $ErrorAction
}

# Win32_Service as the SCM answers it: StartMode from the live start type the sc.exe stand-in keeps
# (services.<name>.startType), not from the registry's Start value. world.serviceQueryFails: CIM fails.
function Get-FakeServiceConfig([string]$Filter, $Timeout, $ErrorAction) {
    $s = Read-FakeState
    $s.cimCalls += @("cim Win32_Service $Filter timeout=$Timeout")
    Write-FakeState $s
    if ($s.world.serviceQueryFails) {
        if ([string]$ErrorAction -eq 'Stop') { throw 'The WS-Management service cannot process the request.' }
        return
    }
    if ($Filter -notmatch "^Name='([^']+)'$") { throw "unsupported filter $Filter" }
    $svc = $s.services[$Matches[1].ToLowerInvariant()]
    if ($null -eq $svc) { return }
    $mode = @{ auto = 'Auto'; demand = 'Manual'; disabled = 'Disabled' }[[string]$svc.startType]
    return [pscustomobject]@{ Name = $Matches[1]; StartMode = $mode; State = $svc.status }
}
# Recorded so a test sees a WMI fallback (no timeout there) if a script ever calls it again.
function Get-WmiObject { param([string]$Class, $ErrorAction) Get-FakeComputerSystem 'wmi' $null $ErrorAction }
