/**
 * Both Windows guest scripts parse clean with PowerShell's own parser, and their AST holds nothing
 * Windows PowerShell 5.1 cannot run (the scripts promise 5.1, and 4.0 where it costs nothing).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithPwsh, GUEST, PWSH } from './windows-harness';

jest.setTimeout(120_000);

const SCRIPTS = ['collect-windows.ps1', 'remediate-windows.ps1'];

// Parses each file, then lists every construct 5.1 lacks, one "file: finding" line each.
const CHECK = String.raw`
$ErrorActionPreference = 'Stop'
$ps7Cmdlets = @('ForEach-Object -Parallel','Get-Error','Test-Json','ConvertFrom-Markdown','Show-Markdown','Get-MarkdownOption','Set-MarkdownOption','Remove-Alias','Join-String','Get-Uptime','Clear-RecycleBin','Test-Connection -TcpPort','Get-SecureRandom')
foreach ($f in $args) {
  $t = $null; $e = $null
  $ast = [System.Management.Automation.Language.Parser]::ParseFile($f, [ref]$t, [ref]$e)
  $n = [IO.Path]::GetFileName($f)
  foreach ($x in $e) { "$($n): parse error: $($x.Message) at line $($x.Extent.StartLineNumber)" }
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

function check(files: string[]): string[] {
  const r = spawnSync(PWSH!, ['-NoProfile', '-NonInteractive', '-Command', `& { ${CHECK} } ${files.map((f) => `'${f}'`).join(' ')}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pwsh failed: ${r.stderr}`);
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

describeWithPwsh('Windows guest scripts: PowerShell parser and 5.1 compatibility (real pwsh)', () => {
  it('parses both scripts with zero errors and finds no construct Windows PowerShell 5.1 lacks', () => {
    expect(check(SCRIPTS.map((s) => join(GUEST, s)))).toEqual([]);
  });

  it('rejects each 5.1-incompatible construct (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsg-ps51-'));
    const bad = join(dir, 'bad.ps1');
    writeFileSync(
      bad,
      ['$a = $true ? 1 : 2', '$b = $null ?? 3', 'Get-Date && Get-Date', '1..2 | ForEach-Object -Parallel { $_ }', 'function F { process { } clean { } }', '$d = [DateTime]::new(1970, 1, 1)', 'Get-Content x | ConvertFrom-Json -AsHashtable'].join('\n'),
    );
    const found = check([bad]).join('\n');
    for (const what of ['ternary', '??', 'pipeline chain', '-Parallel', 'clean block', '::new', 'AsHashtable']) expect(found).toContain(what);
    const broken = join(dir, 'broken.ps1');
    writeFileSync(broken, 'if ($x {');
    expect(check([broken]).join('\n')).toMatch(/parse error/);
  });
});
