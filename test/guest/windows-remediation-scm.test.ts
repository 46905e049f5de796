/**
 * The real remediate-windows.ps1 under pwsh on a fake Windows: the service control manager's side.
 * The start type is set through the SCM (sc.exe config) and read back from it (Win32_Service),
 * never written to the registry's Start value, which the SCM reads only at boot; every helper returns
 * exactly one value of its declared type, and status lines go to the host (stdout of pwsh -File),
 * never into a return value. Failure injection is in windows-remediation-failures.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRemediationOutput } from '../../lambda/core/remediation/guest-result';
import { remediationDocumentContent } from '../../lib/constructs/guest-documents';
import { amazonWindows, describeWithPwsh, type FakeState, fakeWindows, GUEST, reg, stockWindows, SVC } from './windows-harness';
import { type Scenario, scenarioTests } from './windows-remediation-support';

jest.setTimeout(300_000);

/** A stock host whose fix would succeed and touch everything: stopped, Manual, stock triggers and values, the Amazon endpoint reachable. */
function stoppedStock(over: Partial<FakeState> = {}): FakeState {
  return stockWindows({ services: { w32time: { status: 'Stopped' } }, world: { reachable: ['169.254.169.123', 'time.windows.com'] }, ...over });
}

const disabledAmazon = amazonWindows({ services: { w32time: { status: 'Stopped' } } });
disabledAmazon.registry[SVC] = { Start: { value: 4, kind: 'DWord' } };

const SCENARIOS: Scenario[] = [
  {
    name: 'does not act when the SCM cannot tell the start type (CIM Win32_Service fails)',
    state: stoppedStock({ world: { reachable: ['169.254.169.123'], serviceQueryFails: true } }),
    check: ([r]) => {
      expect(r!.outcome).toMatchObject({ result: 'failed', action: 'preflight', reason: 'service-start-type-unreadable' });
      expect(r!.code).toBe(1);
      expect(r!.after.writes).toBeUndefined();
    },
  },
  {
    name: 'starts a Disabled W32Time by sc.exe config w32time start= auto, read back from the SCM before the start',
    state: disabledAmazon,
    runs: [{ VerifySeconds: '10' }],
    check: ([r]) => {
      expect(r!.outcome).toMatchObject({ result: 'changed' });
      expect(r!.stdout).toContain('tsg: before: start type=Disabled');
      expect(r!.after['scCalls']).toEqual(['qtriggerinfo w32time', 'config w32time start= auto', 'start w32time']);
      // Read before (preflight), then read back after sc.exe config.
      expect(r!.after.cimCalls.filter((c) => c.startsWith('cim Win32_Service'))).toEqual(["cim Win32_Service Name='W32Time' timeout=15", "cim Win32_Service Name='W32Time' timeout=15"]);
      expect(r!.after.services['w32time']).toMatchObject({ status: 'Running', startType: 'auto' });
      expect(reg(r!.after, SVC, 'Start')).toBe(2);
    },
  },
  {
    name: "judges the start type by the SCM, not the registry's Start value (which the SCM reads only at boot)",
    // Someone wrote Start=2 since boot: the SCM still has the service Disabled, and sc.exe start would fail.
    state: amazonWindows({ services: { w32time: { status: 'Stopped', startType: 'disabled' } } }),
    runs: [{ VerifySeconds: '10' }],
    check: ([r]) => {
      expect(r!.stdout).toContain('tsg: before: start type=Disabled');
      expect(r!.after['scCalls']).toContain('config w32time start= auto');
      expect(r!.outcome).toMatchObject({ result: 'changed' });
    },
  },
  {
    name: 'prints its progress lines and the result line last, all on stdout of pwsh -File (what Run Command returns)',
    state: stockWindows({ cimFails: true }),
    check: ([r]) => {
      const lines = r!.stdout.trim().split(/\r?\n/);
      expect(lines[0]).toMatch(/^tsg: options: /);
      expect(lines.at(-1)).toBe('TSG-REMEDIATE v1 result=failed daemon=w32time action=preflight reason=domain-role-unknown');
      expect(r!.outcome.progress[0]).toMatch(/^tsg: options: /);
    },
  },
];

describeWithPwsh('remediate-windows.ps1 and the service control manager (real pwsh)', () => {
  scenarioTests(SCENARIOS);
});

// Loads every function of the script (and the top-level values they use) into a session with the
// prelude, lists what each declares, and calls each one where its external calls fail.
const PROBE = String.raw`
$path = '${GUEST}/remediate-windows.ps1'
$ast = [System.Management.Automation.Language.Parser]::ParseFile($path, [ref]$null, [ref]$null)
foreach ($st in $ast.EndBlock.Statements) {
  if ($st -is [System.Management.Automation.Language.AssignmentStatementAst] -and $st.Left -is [System.Management.Automation.Language.VariableExpressionAst] -and @('SvcKey', 'CallTimeoutSeconds', 'ScStartTypes', 'TriggerKey', 'WantedTriggers', 'NpAddrs') -contains $st.Left.VariablePath.UserPath) {
    . ([scriptblock]::Create($st.Extent.Text))
  }
}
$ServiceWaitSeconds = 1
$Peer = '169.254.169.123'
$script:OutLen = 0
$script:Truncated = $false
foreach ($f in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) {
  $declared = 'none'
  if ($null -ne $f.Body.ParamBlock) {
    $ot = @($f.Body.ParamBlock.Attributes | Where-Object { $_.TypeName.Name -eq 'OutputType' })
    if ($ot.Count -eq 1) { $declared = $ot[0].PositionalArguments[0].TypeName.FullName }
    elseif ($ot.Count -gt 1) { $declared = 'several' }
  }
  $returns = @($f.Body.FindAll({ param($n) $n -is [System.Management.Automation.Language.ReturnStatementAst] -and $null -ne $n.Pipeline }, $true)).Count -gt 0
  Write-Host "FN $($f.Name) declared=$declared returns=$returns"
  . ([scriptblock]::Create($f.Extent.Text))
}
$wo = @($ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] -and @('Write-Output', 'echo', 'Write') -contains $n.GetCommandName() }, $true))
Write-Host "WRITE-OUTPUT $($wo.Count)"

function Probe([string]$Fn, [scriptblock]$Call) {
  $r = @(& $Call)
  $t = 'null'
  if ($r.Count -gt 0 -and $null -ne $r[0]) { $t = $r[0].GetType().Name }
  Write-Host "PROBE $Fn count=$($r.Count) type=$t value=$(($r | ForEach-Object { [string]$_ }) -join '|')"
}

# Stopped, Manual; sc.exe start, stop and config fail.
Probe 'Start-W32Time' { Start-W32Time }
Probe 'Set-W32TimeStatus' { Set-W32TimeStatus 'start' 'Running' 1056 }
Probe 'Restart-W32Time' { Restart-W32Time }
Probe 'Set-W32TimeStartMode' { Set-W32TimeStartMode 'Auto' }
Probe 'Get-W32TimeStartMode' { Get-W32TimeStartMode }
Probe 'Wait-W32TimeStatus' { Wait-W32TimeStatus 'Running' }
$s = Read-FakeState; $s.services.w32time.status = 'Running'; Write-FakeState $s
Probe 'Stop-W32Time' { Stop-W32Time }
Probe 'Test-W32TimeStatus' { Test-W32TimeStatus 'Running' }
Probe 'Test-SyncedToAmazon' { Test-SyncedToAmazon }
Probe 'Get-StatusValues' { Get-StatusValues }
Probe 'Invoke-System32' { Invoke-System32 'sc.exe' 'stop w32time' 30 }
Probe 'Invoke-W32tm' { Invoke-W32tm '/config /update' 30 }
Probe 'Get-RegValue' { Get-RegValue "$SvcKey\Parameters" 'NtpServer' }
Probe 'Get-DesiredValues' { Get-DesiredValues '169.254.169.123' 900 $false }
Probe 'Test-ValueEqual' { Test-ValueEqual 1 '1' }
Probe 'Read-Triggers' { Read-Triggers }
Probe 'Format-Triggers' { Format-Triggers (Read-Triggers) }
Probe 'Get-TriggerSignature' { Get-TriggerSignature (Read-Triggers) }
Probe 'Format-RegData' { Format-RegData @(1, 2) }
Probe 'Test-Administrator' { Test-Administrator }
Probe 'Test-Ipv6Only' { Test-Ipv6Only }
Probe 'Test-NoProxyCovers' { Test-NoProxyCovers '10.0.0.0/8,169.254.0.0/16' }
Probe 'Get-TsgArg' { Get-TsgArg 'DryRun' 'false' }
Probe 'Get-TsgBool' { Get-TsgBool 'DryRun' 'false' }
Probe 'Get-Token' { Get-Token 'a b' }
Probe 'Get-Short' { Get-Short ('a' + [char]13 + [char]10 + '  b') }
`;

/** .NET type names of what a call returned, by declared [OutputType]; 'object' accepts any one value. */
const DOTNET: Record<string, string | null> = { bool: 'Boolean', string: 'String', hashtable: 'Hashtable', 'object[]': 'Object[]', object: null };

describeWithPwsh('remediate-windows.ps1 helpers return one typed value (real pwsh)', () => {
  const w = fakeWindows(stoppedStock({ failCalls: ['sc.exe start w32time', 'sc.exe stop w32time', 'sc.exe config w32time start= auto'] }));
  let out = '';
  beforeAll(() => {
    const r = w.runCode(PROBE);
    out = r.stdout;
    expect(r.stderr).toBe('');
  });
  afterAll(() => w.cleanup());

  const fns = () => [...out.matchAll(/^FN (\S+) declared=(\S+) returns=(True|False)$/gm)].map((m) => ({ name: m[1]!, declared: m[2]!, returns: m[3] === 'True' }));
  const probes = () => [...out.matchAll(/^PROBE (\S+) count=(\d+) type=(\S+) value=(.*)$/gm)].map((m) => ({ fn: m[1]!, count: Number(m[2]), type: m[3]!, value: m[4]! }));

  it('prints nothing to the success stream: no Write-Output anywhere in the script', () => {
    expect(out).toContain('WRITE-OUTPUT 0');
  });

  it('declares exactly one [OutputType] on every function that returns a value', () => {
    expect(fns().length).toBeGreaterThan(20);
    expect(fns().filter((f) => f.returns && !(f.declared.toLowerCase() in DOTNET))).toEqual([]);
  });

  it('returns exactly one value of the declared type from every such function, also when its sc.exe call fails', () => {
    const declared = fns().filter((f) => f.declared !== 'none');
    const seen = probes();
    for (const f of declared) {
      const mine = seen.filter((p) => p.fn === f.name);
      expect({ fn: f.name, probed: mine.length > 0 }).toEqual({ fn: f.name, probed: true });
      for (const p of mine) {
        const want = DOTNET[f.declared.toLowerCase()];
        expect({ fn: f.name, count: p.count, type: want === null ? 'any' : p.type }).toEqual({ fn: f.name, count: 1, type: want === null ? 'any' : want });
      }
    }
  });

  it('gives false for a failed sc.exe start/stop/restart and a reason for a failed sc.exe config, while the message reaches the output', () => {
    const byFn = Object.fromEntries(probes().map((p) => [p.fn, p.value]));
    expect(byFn).toMatchObject({ 'Start-W32Time': 'False', 'Restart-W32Time': 'False', 'Stop-W32Time': 'False', 'Wait-W32TimeStatus': 'False', 'Set-W32TimeStartMode': 'service-start-type-not-set', 'Get-W32TimeStartMode': 'Manual' });
    expect(out).toMatch(/^tsg: sc\.exe start w32time: 5 /m);
    expect(out).toMatch(/^tsg: sc\.exe stop w32time: 5 /m);
    expect(out).toMatch(/^tsg: sc\.exe config w32time start= auto: 5 /m);
  });
});

describeWithPwsh('remediate-windows.ps1 as the SSM document carries it (real pwsh)', () => {
  it('fixes a stock host from the compacted document text with its parameters substituted, waiting the production 30 s for the service', () => {
    const doc = remediationDocumentContent('windows') as { mainSteps: { inputs: { runCommand: string[] } }[] };
    const params: Record<string, string> = { DryRun: 'false', Endpoint: 'ipv4', ForceDomainMembers: 'false', VerifySeconds: '10', FixNoProxy: 'false', FixTimeSync: 'true' };
    const text = doc.mainSteps[0]!.inputs.runCommand.join('\n').replace(/\{\{ (\w+) \}\}/g, (_m, k: string) => params[k]!);
    const w = fakeWindows(stockWindows({ services: { w32time: { status: 'Stopped' } } }));
    try {
      const file = join(w.dir, 'document-step.ps1');
      writeFileSync(file, text);
      const r = w.runCode(`& '${file}'\nexit $LASTEXITCODE`);
      expect(r.stdout).toContain('ServiceWaitSeconds=30');
      expect(parseRemediationOutput(r.stdout)).toMatchObject({ result: 'changed', action: 'set-amazon-time-sync' });
      expect(r.code).toBe(0);
      expect(w.state().services['w32time']).toMatchObject({ status: 'Running', startType: 'auto' });
    } finally {
      w.cleanup();
    }
  });
});
