import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { GUEST_SCRIPTS, readGuestScript } from '../../lambda/guest/scripts';
import {
  collectorDocumentContent,
  documentHash,
  documentText,
  LINUX_REMEDIATION_ARGS_LINE,
  remediationDocumentContent,
  WINDOWS_REMEDIATION_ARGS_LINE,
  WINDOWS_SERVICE_WAIT_SECONDS,
} from '../../lib/constructs/guest-documents';
import { spokeDocumentsTemplate } from '../../lib/constructs/org-spoke';
import { orgTemplate } from '../org/util';
import { guardTemplate } from './util';

type Step = { action: string; name: string; precondition: unknown; inputs: { timeoutSeconds: string; runCommand: string[] } };
type Doc = { schemaVersion: string; parameters?: Record<string, { type: string; allowedValues?: string[]; allowedPattern?: string; default: string }>; mainSteps: Step[] };

describe('SSM documents', () => {
  let template: Template;
  beforeAll(() => {
    ({ template } = guardTemplate());
  });

  it('creates three Command documents (collector, Linux and Windows remediation) without fixed names, so two stacks never clash', () => {
    const docs = Object.values(template.findResources('AWS::SSM::Document'));
    expect(docs).toHaveLength(3);
    for (const d of docs) {
      expect(d.Properties).toMatchObject({ DocumentType: 'Command', DocumentFormat: 'JSON' });
      expect(d.Properties.Name).toBeUndefined();
    }
  });

  const LINUX_STEP = ['aws:runShellScript', { StringEquals: ['platformType', 'Linux'] }];
  const WINDOWS_STEP = ['aws:runPowerShellScript', { StringEquals: ['platformType', 'Windows'] }];
  it.each([
    ['collector', collectorDocumentContent() as unknown as Doc, 30, [LINUX_STEP, WINDOWS_STEP]],
    ['Linux remediation', remediationDocumentContent('linux') as unknown as Doc, 1800, [LINUX_STEP]],
    ['Windows remediation', remediationDocumentContent('windows') as unknown as Doc, 1800, [WINDOWS_STEP]],
  ])('runs the %s only under its platform precondition and a timeout', (_name, doc, timeout, steps) => {
    expect(doc.schemaVersion).toBe('2.2');
    expect(doc.mainSteps.map((s) => [s.action, s.precondition])).toEqual(steps);
    for (const s of doc.mainSteps) expect(s.inputs.timeoutSeconds).toBe(String(timeout));
  });

  it('declares the same parameters in both remediation documents (the engine sends one parameter set to either)', () => {
    expect((remediationDocumentContent('windows') as unknown as Doc).parameters).toEqual((remediationDocumentContent('linux') as unknown as Doc).parameters);
  });

  it('embeds the collector scripts line by line: Linux without its whole-line comments, Windows verbatim', () => {
    const doc = collectorDocumentContent() as unknown as Doc;
    const code = (s: string) => s.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\n+$/, '');
    expect(doc.mainSteps[0].inputs.runCommand.join('\n')).toBe(code(readGuestScript(GUEST_SCRIPTS.collectLinux)));
    expect(doc.mainSteps[0].inputs.runCommand.join('\n')).toContain('TSG-REPORT v1 linux');
    expect(doc.mainSteps[1].inputs.runCommand.join('\n')).toBe(readGuestScript(GUEST_SCRIPTS.collectWindows).replace(/\r\n/g, '\n').replace(/\n+$/, ''));
    expect(doc.parameters).toBeUndefined();
  });

  it('prefixes the remediation scripts with the parameter line of the convention', () => {
    const linux = (remediationDocumentContent('linux') as unknown as Doc).mainSteps[0].inputs.runCommand;
    expect(linux[0]).toBe(
      "set -- --dry-run '{{ DryRun }}' --endpoint '{{ Endpoint }}' --use-phc '{{ UsePhc }}' --install-chrony '{{ InstallChrony }}' --step '{{ StepLargeOffset }}' --verify-seconds '{{ VerifySeconds }}' --fix-no-proxy '{{ FixNoProxy }}' --fix-time-sync '{{ FixTimeSync }}' --fix-mixed-sources '{{ FixMixedSources }}'",
    );
    expect(linux[0]).toBe(LINUX_REMEDIATION_ARGS_LINE);
    const code = (s: string) => s.replace(/\r\n/g, '\n').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\n+$/, '');
    // Both without blank lines and indentation: test/guest/remediate-linux-compact.test.ts shows the Linux
    // script prints what the file prints, test/guest/windows-ps51.test.ts that Windows tokenizes as the file does.
    const compact = (s: string) => code(s).split('\n').map((l) => l.trim()).filter((l) => l !== '').join('\n');
    expect(linux.slice(1).join('\n')).toBe(compact(readGuestScript(GUEST_SCRIPTS.remediateLinux)));
    const windows = (remediationDocumentContent('windows') as unknown as Doc).mainSteps[0].inputs.runCommand;
    expect(windows.slice(1).join('\n')).toBe(compact(readGuestScript(GUEST_SCRIPTS.remediateWindows)));
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
    const params = (remediationDocumentContent('linux') as unknown as Doc).parameters!;
    expect(Object.keys(params).sort()).toEqual(['DryRun', 'Endpoint', 'FixMixedSources', 'FixNoProxy', 'FixTimeSync', 'ForceDomainMembers', 'InstallChrony', 'StepLargeOffset', 'UsePhc', 'VerifySeconds']);
    for (const name of ['DryRun', 'UsePhc', 'InstallChrony', 'StepLargeOffset', 'ForceDomainMembers', 'FixNoProxy', 'FixTimeSync', 'FixMixedSources']) {
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
    const params = Object.keys((remediationDocumentContent('linux') as unknown as Doc).parameters!);
    const used = [...`${LINUX_REMEDIATION_ARGS_LINE} ${WINDOWS_REMEDIATION_ARGS_LINE}`.matchAll(/\{\{ (\w+) \}\}/g)].map((m) => m[1]);
    expect(new Set(used)).toEqual(new Set(params));
  });

  it('puts the generated content into the template, as the exact string that is hashed', () => {
    const contents = Object.values(template.findResources('AWS::SSM::Document')).map((d) => d.Properties.Content as unknown);
    for (const c of contents) expect(typeof c).toBe('string');
    expect(contents).toContain(documentText(remediationDocumentContent('linux')));
    expect(contents).toContain(documentText(remediationDocumentContent('windows')));
    expect(contents).toContain(documentText(collectorDocumentContent()));
    expect((JSON.parse(documentText(remediationDocumentContent('linux'))) as Doc).mainSteps[0]!.inputs.runCommand[0]).toBe(LINUX_REMEDIATION_ARGS_LINE);
  });

  describe('pinned by hash (docs/security.md "Documents run as root: pinned by hash")', () => {
    type Fn = { Properties: { Description?: string; Environment?: { Variables?: Record<string, unknown> } } };
    const sha256 = (text: string): string => createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');
    const env = (t: Template) => Object.values(t.findResources('AWS::Lambda::Function') as Record<string, Fn>).map((f) => f.Properties.Environment?.Variables ?? {}).filter((v) => 'TSG_COLLECTOR_DOCUMENT' in v);
    /** Each document of the template: its Ref-able logical id and the SHA-256 of its Content string exactly as synthesized. */
    const documents = (t: Template) => Object.entries(t.findResources('AWS::SSM::Document')).map(([id, d]) => ({ id, sha256: sha256(d.Properties.Content as string) }));

    it.each([
      ['default', {}],
      ['dry run (another remediation document content)', { dryRun: true }],
      ['launch check on', { launchCheck: true }],
    ] as const)('%s: every function that runs a document gets, with its name, the SHA-256 of that document\'s exact Content string', (_n, props) => {
      const { template: t } = guardTemplate(props);
      const docs = documents(t);
      const fns = env(t);
      expect(fns.length).toBeGreaterThanOrEqual(2);
      for (const v of fns) {
        const collector = docs.find((d) => (v.TSG_COLLECTOR_DOCUMENT as { Ref: string }).Ref === d.id)!;
        expect(v.TSG_COLLECTOR_DOCUMENT_HASH).toBe(collector.sha256);
        if ('TSG_REMEDIATION_DOCUMENT' in v) {
          const remediation = docs.find((d) => (v.TSG_REMEDIATION_DOCUMENT as { Ref: string }).Ref === d.id)!;
          expect(v.TSG_REMEDIATION_DOCUMENT_HASH).toBe(remediation.sha256);
          const windows = docs.find((d) => (v.TSG_WINDOWS_REMEDIATION_DOCUMENT as { Ref: string }).Ref === d.id)!;
          expect(v.TSG_WINDOWS_REMEDIATION_DOCUMENT_HASH).toBe(windows.sha256);
          expect(new Set([collector.sha256, remediation.sha256, windows.sha256]).size).toBe(3);
        } else {
          expect(v.TSG_REMEDIATION_DOCUMENT_HASH).toBeUndefined();
          expect(v.TSG_WINDOWS_REMEDIATION_DOCUMENT_HASH).toBeUndefined();
        }
      }
    });

    it('writes the Content as plain ASCII (non-ASCII as \\u escapes), so the hashed bytes are the same in any encoding, and it parses back to the document', () => {
      for (const content of [collectorDocumentContent(), remediationDocumentContent('linux'), remediationDocumentContent('windows')]) {
        const text = documentText(content);
        expect(text).toMatch(/^[\x20-\x7e]*$/);
        expect(JSON.parse(text)).toEqual(content);
        expect(documentHash(text)).toBe(sha256(text));
      }
      // A script edit that brings in a non-ASCII character (a dash, a ≤ in a comment) stays ASCII in the Content.
      expect(documentText({ d: 'offset \u2264 1 s \u2014 ok' })).toBe('{"d":"offset \\u2264 1 s \\u2014 ok"}');
    });

    it('the organization hub sends the SHA-256 of the Content strings the documents StackSet deploys', () => {
      const { stack, template: t } = orgTemplate();
      const inner = spokeDocumentsTemplate(stack.spoke.documents).Resources as Record<string, { Properties: { Name: string; Content: unknown } }>;
      const byName = Object.fromEntries(Object.values(inner).map((r) => [r.Properties.Name, r.Properties.Content]));
      for (const c of Object.values(byName)) expect(typeof c).toBe('string');
      const fns = Object.values(t.findResources('AWS::Lambda::Function') as Record<string, Fn>).map((f) => f.Properties.Environment?.Variables ?? {}).filter((v) => 'TSG_COLLECTOR_DOCUMENT_HASH' in v);
      expect(fns.length).toBe(2);
      for (const v of fns) {
        expect(v.TSG_COLLECTOR_DOCUMENT_HASH).toBe(sha256(byName[v.TSG_COLLECTOR_DOCUMENT as string] as string));
        expect(v.TSG_REMEDIATION_DOCUMENT_HASH).toBe(sha256(byName[v.TSG_REMEDIATION_DOCUMENT as string] as string));
        expect(v.TSG_WINDOWS_REMEDIATION_DOCUMENT_HASH).toBe(sha256(byName[v.TSG_WINDOWS_REMEDIATION_DOCUMENT as string] as string));
      }
      // And the asset CloudFormation reads is that very template.
      const file = readdirSync(join(App.of(stack)!.outdir, 'timesync-guard-spoke')).map((f) => join(App.of(stack)!.outdir, 'timesync-guard-spoke', f))[0]!;
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(spokeDocumentsTemplate(stack.spoke.documents));
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

  it('stays within the SSM document size limit (64 KB), as the string SSM receives', () => {
    expect(Buffer.byteLength(documentText(collectorDocumentContent()), 'utf8')).toBeLessThan(64 * 1024);
    for (const platform of ['linux', 'windows'] as const) expect(Buffer.byteLength(documentText(remediationDocumentContent(platform)), 'utf8')).toBeLessThan(64 * 1024);
  });
});
