import { Match, type Template } from 'aws-cdk-lib/assertions';
import { GUEST_SCRIPTS, readGuestScript } from '../../lambda/guest/scripts';
import {
  collectorDocumentContent,
  LINUX_REMEDIATION_ARGS_LINE,
  remediationDocumentContent,
  WINDOWS_REMEDIATION_ARGS_LINE,
  WINDOWS_SERVICE_WAIT_SECONDS,
} from '../../lib/constructs/guest-documents';
import { guardTemplate } from './util';

type Step = { action: string; name: string; precondition: unknown; inputs: { timeoutSeconds: string; runCommand: string[] } };
type Doc = { schemaVersion: string; parameters?: Record<string, { type: string; allowedValues?: string[]; allowedPattern?: string; default: string }>; mainSteps: Step[] };

describe('SSM documents', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = guardTemplate());
  });

  it('creates two Command documents without fixed names, so two stacks never clash', () => {
    const docs = Object.values(template.findResources('AWS::SSM::Document'));
    expect(docs).toHaveLength(2);
    for (const d of docs) {
      expect(d.Properties).toMatchObject({ DocumentType: 'Command', DocumentFormat: 'JSON' });
      expect(d.Properties.Name).toBeUndefined();
    }
  });

  it.each([
    ['collector', collectorDocumentContent() as unknown as Doc, 30],
    ['remediation', remediationDocumentContent() as unknown as Doc, 1800],
  ])('runs the %s on Linux and Windows only, each under its platform precondition and a timeout', (_name, doc, timeout) => {
    expect(doc.schemaVersion).toBe('2.2');
    expect(doc.mainSteps.map((s) => [s.action, s.precondition])).toEqual([
      ['aws:runShellScript', { StringEquals: ['platformType', 'Linux'] }],
      ['aws:runPowerShellScript', { StringEquals: ['platformType', 'Windows'] }],
    ]);
    for (const s of doc.mainSteps) expect(s.inputs.timeoutSeconds).toBe(String(timeout));
  });

  it('embeds the collector scripts verbatim, line by line', () => {
    const doc = collectorDocumentContent() as unknown as Doc;
    expect(doc.mainSteps[0].inputs.runCommand.join('\n')).toBe(readGuestScript(GUEST_SCRIPTS.collectLinux).replace(/\n+$/, ''));
    expect(doc.mainSteps[1].inputs.runCommand.join('\n')).toBe(readGuestScript(GUEST_SCRIPTS.collectWindows).replace(/\r\n/g, '\n').replace(/\n+$/, ''));
    expect(doc.parameters).toBeUndefined();
  });

  it('prefixes the remediation scripts with the parameter line of the convention', () => {
    const doc = remediationDocumentContent() as unknown as Doc;
    const linux = doc.mainSteps[0].inputs.runCommand;
    expect(linux[0]).toBe(
      "set -- --dry-run '{{ DryRun }}' --endpoint '{{ Endpoint }}' --use-phc '{{ UsePhc }}' --install-chrony '{{ InstallChrony }}' --step '{{ StepLargeOffset }}' --verify-seconds '{{ VerifySeconds }}' --fix-no-proxy '{{ FixNoProxy }}' --fix-time-sync '{{ FixTimeSync }}'",
    );
    expect(linux[0]).toBe(LINUX_REMEDIATION_ARGS_LINE);
    const code = (s: string) => s.replace(/\r\n/g, '\n').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\n+$/, '');
    expect(linux.slice(1).join('\n')).toBe(code(readGuestScript(GUEST_SCRIPTS.remediateLinux)));
    // Windows: also without blank lines and indentation (test/guest/windows-ps51.test.ts shows it tokenizes as the file does).
    expect(doc.mainSteps[1].inputs.runCommand.slice(1).join('\n')).toBe(
      code(readGuestScript(GUEST_SCRIPTS.remediateWindows))
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')
        .join('\n'),
    );
    const windows = doc.mainSteps[1].inputs.runCommand;
    expect(windows[0]).toBe(
      "$TsgArgs = @{ DryRun = '{{ DryRun }}'; Endpoint = '{{ Endpoint }}'; ForceDomainMembers = '{{ ForceDomainMembers }}'; VerifySeconds = '{{ VerifySeconds }}'; FixNoProxy = '{{ FixNoProxy }}'; FixTimeSync = '{{ FixTimeSync }}'; ServiceWaitSeconds = '30' }",
    );
    expect(windows[0]).toBe(WINDOWS_REMEDIATION_ARGS_LINE);
  });

  it("passes the Windows script its documented production service wait (30 s), which the tests shorten", () => {
    expect(WINDOWS_SERVICE_WAIT_SECONDS).toBe(30);
    const script = readGuestScript(GUEST_SCRIPTS.remediateWindows);
    expect(script).toMatch(/^#\s+ServiceWaitSeconds\s+1\.\.600\s.*\(default 30\)$/m);
    expect(script).toContain("$WaitText = Get-TsgArg 'ServiceWaitSeconds' '30'");
  });

  it('closes every remediation parameter with allowedValues or an anchored pattern', () => {
    const params = (remediationDocumentContent() as unknown as Doc).parameters!;
    expect(Object.keys(params).sort()).toEqual(['DryRun', 'Endpoint', 'FixNoProxy', 'FixTimeSync', 'ForceDomainMembers', 'InstallChrony', 'StepLargeOffset', 'UsePhc', 'VerifySeconds']);
    for (const name of ['DryRun', 'UsePhc', 'InstallChrony', 'StepLargeOffset', 'ForceDomainMembers', 'FixNoProxy', 'FixTimeSync']) {
      expect(params[name]).toMatchObject({ type: 'String', allowedValues: ['true', 'false'] });
    }
    expect(params.Endpoint.allowedValues).toEqual(['auto', 'ipv4', 'ipv6']);
    // By hand or from an older engine, the document does what it always did: time sync, no NO_PROXY edit.
    expect([params.FixNoProxy.default, params.FixTimeSync.default]).toEqual(['false', 'true']);
    expect(params.VerifySeconds.allowedPattern).toBe('^\\d{1,3}$');
    const verify = new RegExp(params.VerifySeconds.allowedPattern!);
    for (const bad of ["1'; reboot; '", '1000', '', '60\n', '$(id)']) expect(verify.test(bad)).toBe(false);
    expect(verify.test('60')).toBe(true);
    // Every default is itself allowed.
    for (const p of Object.values(params)) {
      if (p.allowedValues) expect(p.allowedValues).toContain(p.default);
      if (p.allowedPattern) expect(new RegExp(p.allowedPattern).test(p.default)).toBe(true);
    }
  });

  it('references every declared parameter in the Linux or Windows argument line, and no undeclared one', () => {
    const params = Object.keys((remediationDocumentContent() as unknown as Doc).parameters!);
    const used = [...`${LINUX_REMEDIATION_ARGS_LINE} ${WINDOWS_REMEDIATION_ARGS_LINE}`.matchAll(/\{\{ (\w+) \}\}/g)].map((m) => m[1]);
    expect(new Set(used)).toEqual(new Set(params));
  });

  it('puts the generated content into the template', () => {
    template.hasResourceProperties('AWS::SSM::Document', {
      Content: Match.objectLike({ mainSteps: Match.arrayWith([Match.objectLike({ name: 'linux', inputs: Match.objectLike({ runCommand: Match.arrayWith([LINUX_REMEDIATION_ARGS_LINE]) }) })]) }),
    });
  });

  it.each(Object.values(GUEST_SCRIPTS))('keeps %s free of {{ }} (SSM would read it as a document parameter)', (name) => {
    expect(readGuestScript(name)).not.toMatch(/\{\{/);
  });

  it.each([GUEST_SCRIPTS.remediateLinux, GUEST_SCRIPTS.remediateWindows])('%s holds no here-doc nor block comment, so dropping its # lines drops only comments', (name) => {
    const text = readGuestScript(name);
    // sh here-docs; PowerShell block comments and here-strings (which open at the end of a line).
    expect(text).not.toMatch(name.endsWith('.sh') ? /<</ : /<#|#>|@['"]\r?$/m);
  });

  it('stays within the SSM document size limit (64 KB)', () => {
    expect(JSON.stringify(collectorDocumentContent()).length).toBeLessThan(64 * 1024);
    expect(JSON.stringify(remediationDocumentContent()).length).toBeLessThan(64 * 1024);
  });
});
