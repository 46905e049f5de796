/**
 * Both Windows guest scripts parse clean with PowerShell's own parser, and their AST holds nothing
 * Windows PowerShell 5.1 cannot run (the scripts promise 5.1, and 4.0 where it costs nothing).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { compactPowerShell } from '../../lib/constructs/guest-documents';
import { GUEST_SCRIPTS, readGuestScript } from '../../lambda/guest/scripts';
import { describeWithPwsh, GUEST, PWSH } from './windows-harness';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');

/** Every .ps1 of the repository (shipped scripts and test code), outside node_modules and .git. */
function allPs1(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'cdk.out') return [];
    const p = join(dir, e.name);
    return e.isDirectory() ? allPs1(p) : e.name.endsWith('.ps1') ? [p] : [];
  });
}

/** The shipped guest scripts: they promise 5.1 (a new one is checked without editing this test). */
const SHIPPED = allPs1(GUEST);

// Parses each file, then lists every construct 5.1 lacks, one "file: finding" line each.
const CHECK = String.raw`
$ErrorActionPreference = 'Stop'
$parseOnly = $args[0] -eq 'parse-only'
$files = @($args | Where-Object { $_ -ne 'parse-only' })
$ps7Cmdlets = @('ForEach-Object -Parallel','Get-Error','Test-Json','ConvertFrom-Markdown','Show-Markdown','Get-MarkdownOption','Set-MarkdownOption','Remove-Alias','Join-String','Get-Uptime','Clear-RecycleBin','Test-Connection -TcpPort','Get-SecureRandom','Get-Content -AsByteStream','Set-Content -AsByteStream','Invoke-WebRequest -SkipCertificateCheck','Invoke-RestMethod -SkipCertificateCheck','Invoke-WebRequest -SkipHttpErrorCheck','Invoke-RestMethod -SkipHttpErrorCheck','ConvertTo-Json -AsArray','Import-Module -UseWindowsPowerShell','Split-Path -LeafBase','Split-Path -Extension','Start-Process -Environment')
foreach ($f in $files) {
  $t = $null; $e = $null
  $ast = [System.Management.Automation.Language.Parser]::ParseFile($f, [ref]$t, [ref]$e)
  $n = [IO.Path]::GetFileName($f)
  foreach ($x in $e) { "$($n): parse error: $($x.Message) at line $($x.Extent.StartLineNumber)" }
  if ($parseOnly) { continue }
  $all = $ast.FindAll({ $true }, $true)
  foreach ($node in $all) {
    $type = $node.GetType().Name
    $line = $node.Extent.StartLineNumber
    if ($type -eq 'TernaryExpressionAst') { "$($n): ternary ? : at line $line" }
    if ($type -eq 'PipelineChainAst') { "$($n): && / || pipeline chain at line $line" }
    if ($type -eq 'BinaryExpressionAst' -and $node.Operator -eq 'QuestionQuestion') { "$($n): ?? at line $line" }
    if ($type -eq 'AssignmentStatementAst' -and $node.Operator -eq 'QuestionQuestionEquals') { "$($n): ??= at line $line" }
    if ($type -eq 'MemberExpressionAst' -and $node.NullConditional) { "$($n): ?. at line $line" }
    if ($type -eq 'IndexExpressionAst' -and $node.NullConditional) { "$($n): ?[] at line $line" }
    if ($type -eq 'NamedBlockAst' -and $node.BlockKind -eq 'Clean') { "$($n): clean block at line $line" }
    if ($type -eq 'TypeDefinitionAst') { "$($n): class/enum (PS 5.0+, not 4.0) at line $line" }
    if ($type -eq 'InvokeMemberExpressionAst' -and $node.Static -and $node.Member.Value -eq 'new') { "$($n): ::new (PS 5.0+, not 4.0) at line $line" }
    if ($type -eq 'VariableExpressionAst' -and @('IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR') -contains $node.VariablePath.UserPath) { "$($n): $('$' + $node.VariablePath.UserPath) (PS 6+, always null in 5.1) at line $line" }
    if ($type -eq 'CommandAst') {
      $name = $node.GetCommandName()
      $params = @($node.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] } | ForEach-Object { $_.ParameterName })
      foreach ($c in $ps7Cmdlets) {
        $parts = $c -split ' '
        if ($name -eq $parts[0] -and ($parts.Count -eq 1 -or $params -contains $parts[1].TrimStart('-'))) { "$($n): PS7-only $c at line $line" }
      }
      if ($params -contains 'AsHashtable') { "$($n): -AsHashtable (PS 6+) at line $line" }
    }
  }
}
`;

// Every token of each file but comments and line breaks, one `Kind Text` line each (line breaks
// inside a token escaped), after a `FILE <n>` line per file.
const TOKENS = String.raw`
$i = 0
foreach ($f in $args) {
  "FILE $i"; $i++
  $t = $null; $e = $null
  $null = [System.Management.Automation.Language.Parser]::ParseFile($f, [ref]$t, [ref]$e)
  foreach ($x in $t) { if (@('Comment', 'NewLine', 'EndOfInput') -notcontains [string]$x.Kind) { "$($x.Kind) " + $x.Text.Replace([string][char]13, '\r').Replace([string][char]10, '\n') } }
}
`;

/** The tokens of each file (see TOKENS), in one pwsh run. */
function tokens(...files: string[]): string[][] {
  const r = spawnSync(PWSH!, ['-NoProfile', '-NonInteractive', '-Command', `& { ${TOKENS} } ${files.map((f) => `'${f}'`).join(' ')}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pwsh failed: ${r.stderr}`);
  return r.stdout
    .split(/^FILE \d+\n/m)
    .slice(1)
    .map((t) => t.split('\n').filter((l) => l !== ''));
}

function check(files: string[], parseOnly = false): string[] {
  const list = [...(parseOnly ? ['parse-only'] : []), ...files].map((f) => `'${f}'`).join(' ');
  const r = spawnSync(PWSH!, ['-NoProfile', '-NonInteractive', '-Command', `& { ${CHECK} } ${list}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pwsh failed: ${r.stderr}`);
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

describeWithPwsh('Windows guest scripts: PowerShell parser and 5.1 compatibility (real pwsh)', () => {
  it('parses both scripts with zero errors and finds no construct Windows PowerShell 5.1 lacks', () => {
    expect(SHIPPED.map((f) => relative(ROOT, f)).sort()).toEqual(['lambda/guest/collect-windows.ps1', 'lambda/guest/remediate-windows.ps1']);
    expect(check(SHIPPED)).toEqual([]);
  });

  it('parses every .ps1 of the repository (test stand-ins too, which may use PowerShell 7) with zero errors', () => {
    const all = allPs1(ROOT);
    expect(all.length).toBeGreaterThan(SHIPPED.length);
    expect(check(all, true)).toEqual([]);
  });

  it('carries remediate-windows.ps1 in the SSM document as the same tokens (comments, blank lines and indentation dropped only)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsg-ps-compact-'));
    const compact = join(dir, 'compact.ps1');
    writeFileSync(compact, compactPowerShell(readGuestScript(GUEST_SCRIPTS.remediateWindows)).join('\n'));
    // The comparison can fail: indentation inside a multi-line string is part of a token.
    const multi = join(dir, 'multi.ps1');
    writeFileSync(multi, "$a = 'x\n    y'\n");
    const multiCompact = join(dir, 'multi-compact.ps1');
    writeFileSync(multiCompact, compactPowerShell("$a = 'x\n    y'\n").join('\n'));
    const [original, compacted, m, mc] = tokens(join(GUEST, GUEST_SCRIPTS.remediateWindows), compact, multi, multiCompact);
    expect(original!.length).toBeGreaterThan(3000);
    expect(compacted).toEqual(original);
    expect(mc).not.toEqual(m);
  });

  it('rejects each 5.1-incompatible construct (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsg-ps51-'));
    const bad = join(dir, 'bad.ps1');
    writeFileSync(
      bad,
      [
        '$a = $true ? 1 : 2',
        '$b = $null ?? 3',
        'Get-Date && Get-Date',
        '1..2 | ForEach-Object -Parallel { $_ }',
        'function F { process { } clean { } }',
        '$d = [DateTime]::new(1970, 1, 1)',
        'Get-Content x | ConvertFrom-Json -AsHashtable',
        'Get-Content x -AsByteStream',
        'Get-Uptime',
        'if ($IsWindows) { }',
      ].join('\n'),
    );
    const found = check([bad]);
    for (const what of ['ternary', '??', 'pipeline chain', '-Parallel', 'clean block', '::new', 'AsHashtable', 'AsByteStream', 'Get-Uptime', '$IsWindows']) {
      expect(found.filter((l) => l.includes(what))).toHaveLength(1);
    }
    const broken = join(dir, 'broken.ps1');
    writeFileSync(broken, 'if ($x {');
    expect(check([broken]).join('\n')).toMatch(/parse error/);
  });
});
