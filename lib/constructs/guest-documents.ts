import { createHash } from 'node:crypto';
import { CfnDocument } from 'aws-cdk-lib/aws-ssm';
import { ArnFormat, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { documentParameterRef as ref, type RemediationDocumentParameter } from '../../lambda/contracts/remediation-document';
import { GUEST_SCRIPTS, readGuestScript } from '../../lambda/guest/scripts';

/**
 * The SSM Run Command timeout of each platform step. The collector keeps its own 9 s budget (a
 * timeout on every probe), so this only ever ends a guest that is itself stuck; 30 s is three times
 * the budget, room for a slow PowerShell start, and it bounds how long the whole fleet check waits
 * on one hung guest (the benchmark shows that wait is the check's critical path, which the check
 * Lambda is billed for every hour).
 */
export const COLLECTOR_STEP_TIMEOUT_SECONDS = 30;
/** Remediation verifies with a bounded wait (VerifySeconds ≤ 999) after a package install at most. */
export const REMEDIATION_STEP_TIMEOUT_SECONDS = 1800;

/** The Linux step's first line: the parameter convention of `lambda/guest/scripts.ts`. */
export const LINUX_REMEDIATION_ARGS_LINE = `set -- --dry-run '${ref('DryRun')}' --endpoint '${ref('Endpoint')}' --use-phc '${ref('UsePhc')}' --install-chrony '${ref('InstallChrony')}' --step '${ref('StepLargeOffset')}' --verify-seconds '${ref('VerifySeconds')}' --fix-no-proxy '${ref('FixNoProxy')}' --fix-time-sync '${ref('FixTimeSync')}' --fix-mixed-sources '${ref('FixMixedSources')}'`;
/**
 * How long remediate-windows.ps1 lets W32Time stay START/STOP_PENDING after sc.exe start/stop: its
 * documented default, passed explicitly so production never depends on the tests' shorter value.
 * Not a document parameter: nothing in the fleet needs to tune it.
 */
export const WINDOWS_SERVICE_WAIT_SECONDS = 30;
/** The Windows step's first line: the `$TsgArgs` hashtable the script reads. */
export const WINDOWS_REMEDIATION_ARGS_LINE = `$TsgArgs = @{ DryRun = '${ref('DryRun')}'; Endpoint = '${ref('Endpoint')}'; ForceDomainMembers = '${ref('ForceDomainMembers')}'; VerifySeconds = '${ref('VerifySeconds')}'; FixNoProxy = '${ref('FixNoProxy')}'; FixTimeSync = '${ref('FixTimeSync')}'; ServiceWaitSeconds = '${WINDOWS_SERVICE_WAIT_SECONDS}' }`;


const BOOL = { type: 'String', allowedValues: ['true', 'false'] } as const;

function lines(script: string): string[] {
  // runCommand takes a list of lines; a trailing newline would add an empty one.
  return script.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
}

/**
 * The script's lines without its whole-line comments: SSM caps a document at 64 KB and the two
 * remediation scripts with their comments exceed it. Safe because neither script holds a here-doc
 * or a block comment, where a `#` line could be data (a test checks both, and runs what remains).
 */
export function withoutCommentLines(script: string): string[] {
  return lines(script).filter((l) => !/^\s*#/.test(l));
}

/**
 * The Windows script as the document carries it: without comment lines, blank lines and leading
 * indentation, which PowerShell ignores outside multi-line strings (the script has none; the tests
 * check it tokenizes exactly as the file does). Keeps the document under SSM's 64 KB.
 */
export function compactPowerShell(script: string): string[] {
  return withoutCommentLines(script)
    .map((l) => l.replace(/^\s+/, ''))
    .filter((l) => l !== '');
}

/**
 * The Linux remediation script as the document carries it: without comment lines, blank lines and
 * leading indentation. sh ignores indentation outside quotes; the script's only multi-line quoted
 * texts are awk programs (awk ignores it too) and `IFS='<newline>'`, whose closing quote starts its
 * line (a test runs the compacted script and requires the same output as the file's).
 */
export function compactShell(script: string): string[] {
  return compactPowerShell(script);
}

/** The platforms of the guest scripts: one remediation document each. */
export type GuestPlatform = 'linux' | 'windows';

/** One platform's step, under its platform precondition. */
function platformStep(platform: GuestPlatform, runCommand: string[], timeoutSeconds: number): object {
  return platform === 'linux'
    ? { action: 'aws:runShellScript', name: 'linux', precondition: { StringEquals: ['platformType', 'Linux'] }, inputs: { timeoutSeconds: String(timeoutSeconds), runCommand } }
    : { action: 'aws:runPowerShellScript', name: 'windows', precondition: { StringEquals: ['platformType', 'Windows'] }, inputs: { timeoutSeconds: String(timeoutSeconds), runCommand } };
}

function platformSteps(linux: string[], windows: string[], timeoutSeconds: number): object[] {
  return [platformStep('linux', linux, timeoutSeconds), platformStep('windows', windows, timeoutSeconds)];
}

/**
 * Builds the collector document content (schema 2.2) from the guest script files: the Linux script
 * without its whole-line comments (44.1 KB of SSM's 64 KB with them, 35.4 KB without; its only `#`
 * lines inside a quote are comments of an awk program, and test/guest/collect-linux-document.test.ts
 * shows it prints what the file prints), the Windows script verbatim (it holds here-strings).
 */
export function collectorDocumentContent(): Record<string, unknown> {
  return {
    schemaVersion: '2.2',
    description: 'timesync-guard collector: reports the time source, sync state, offset and clock error bound (read-only).',
    mainSteps: platformSteps(
      withoutCommentLines(readGuestScript(GUEST_SCRIPTS.collectLinux)),
      lines(readGuestScript(GUEST_SCRIPTS.collectWindows)),
      COLLECTOR_STEP_TIMEOUT_SECONDS,
    ),
  };
}

/**
 * The remediation document's parameters. Both platform documents declare every parameter (each
 * script reads only its own), so the engine sends the one parameter set of the contract to either.
 */
function remediationParameters(): Record<RemediationDocumentParameter, Record<string, unknown>> {
  return {
    DryRun: { ...BOOL, default: 'false', description: 'Plan and report only; change nothing.' },
    Endpoint: {
      type: 'String',
      allowedValues: ['auto', 'ipv4', 'ipv6'],
      default: 'auto',
      description: 'Amazon Time Sync endpoint: auto picks fd00:ec2::123 only on IPv6-only instances.',
    },
    UsePhc: { ...BOOL, default: 'false', description: 'Add the PTP hardware clock refclock where /dev/ptp_ena exists.' },
    InstallChrony: { ...BOOL, default: 'false', description: 'Install chrony with the OS package manager when no daemon is present.' },
    StepLargeOffset: { ...BOOL, default: 'false', description: 'Step the clock (chronyc makestep) when the offset is large.' },
    ForceDomainMembers: { ...BOOL, default: 'false', description: 'Windows: also reconfigure domain members (normally left to the domain hierarchy).' },
    VerifySeconds: {
      type: 'String',
      allowedPattern: '^\\d{1,3}$',
      default: '60',
      description: 'Bounded wait for the Amazon source to be selected before rolling back.',
    },
    FixNoProxy: {
      ...BOOL,
      default: 'false',
      description: 'Add 169.254.169.254,169.254.170.2,fd00:ec2::254 to NO_PROXY/no_proxy where a system-wide HTTP(S) proxy misses them (running services see it at their next restart).',
    },
    FixTimeSync: { ...BOOL, default: 'true', description: 'Run the time-sync step; false runs only the NO_PROXY step.' },
    FixMixedSources: { ...BOOL, default: 'false', description: 'Linux: drop unsmeared sources and leapsectz beside Amazon.' },
  };
}

/**
 * Builds one platform's remediation document content. One document per platform (not one with a
 * step per platform): the two scripts together came to 62 KB of SSM's 64 KB; apart, each leaves
 * room for the next guest feature (test/lib/size-headroom.test.ts holds every document under 80 %).
 * Every parameter is closed by `allowedValues` or an anchored `allowedPattern`, so no value can
 * break out of the single-quoted argument line. The step keeps its platform precondition, so the
 * document sent to the wrong platform does nothing.
 */
export function remediationDocumentContent(platform: GuestPlatform): Record<string, unknown> {
  const script =
    platform === 'linux'
      ? [LINUX_REMEDIATION_ARGS_LINE, ...compactShell(readGuestScript(GUEST_SCRIPTS.remediateLinux))]
      : [WINDOWS_REMEDIATION_ARGS_LINE, ...compactPowerShell(readGuestScript(GUEST_SCRIPTS.remediateWindows))];
  return {
    schemaVersion: '2.2',
    description: `timesync-guard remediation (${platform === 'linux' ? 'Linux' : 'Windows'}): points the guest time daemon at the Amazon Time Sync Service, validating before and verifying after, with rollback.`,
    // Typed by the contract the engine sends with: a parameter missing here (or extra) fails to compile.
    parameters: remediationParameters(),
    mainSteps: [platformStep(platform, script, REMEDIATION_STEP_TIMEOUT_SECONDS)],
  };
}

/**
 * The exact text handed to SSM as a document's `Content`, and the text its pin is the SHA-256 of.
 * A string, never an object: CloudFormation's AWS::SSM::Document handler re-serializes an object
 * Content (its own JSON printer, whose spacing is not ours) but passes a string through unchanged,
 * and SSM's Hash is the SHA-256 of the content it receives. Compact JSON keeps it small (SSM caps
 * a document at 64 KB); every character above U+007E is written as a `\uXXXX` escape, so the text
 * is plain ASCII and its bytes are the same in whatever encoding the hash is taken over (the
 * document means the same: JSON decodes the escapes).
 */
export function documentText(content: Record<string, unknown>): string {
  return JSON.stringify(content).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The pin of a document: the SHA-256 of its {@link documentText}, 64 lower-case hex digits, as SSM
 * writes a document's `Hash` and as SendCommand's `DocumentHash` (`DocumentHashType: Sha256`) takes it.
 */
export function documentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A document's Content as deployed and its pin, computed together so they cannot drift apart. */
export interface PinnedDocumentContent {
  /** The Content string, exactly as CloudFormation hands it to SSM. */
  readonly text: string;
  /** SHA-256 of `text`: what every SendCommand of this document names. */
  readonly sha256: string;
}

/** {@link documentText} and {@link documentHash} of one content. */
export function pinnedContent(content: Record<string, unknown>): PinnedDocumentContent {
  const text = documentText(content);
  return { text, sha256: documentHash(text) };
}

/**
 * A Command document whose Content is `text`, verbatim. CDK's CfnDocument validates `content` as
 * an object (the older resource specification's `Json` type); the resource itself takes a string
 * (the handler's schema: object or string), so the string goes in as a property override, which
 * CDK writes to the template unchanged.
 */
function pinnedDocument(scope: Construct, id: string, text: string): CfnDocument {
  const doc = new CfnDocument(scope, id, { documentType: 'Command', documentFormat: 'JSON', content: {} });
  doc.addPropertyOverride('Content', text);
  return doc;
}

/**
 * The three SSM Command documents of the stack (collector, Linux and Windows remediation). CloudFormation names them (stack name + id + suffix),
 * which keeps them unique per stack and per construct instance; the Lambdas get the names via env.
 */
export class GuestDocuments extends Construct {
  /** Collector document (its name is what `SendCommand` takes). */
  public readonly collector: CfnDocument;
  /** Linux remediation document (the Windows one is {@link windowsRemediation}). */
  public readonly remediation: CfnDocument;
  /** Windows remediation document. */
  public readonly windowsRemediation: CfnDocument;
  /** SHA-256 of the collector's Content string: its pin, sent with every SendCommand of it. */
  public readonly collectorHash: string;
  /** SHA-256 of the Linux remediation document's Content string. */
  public readonly remediationHash: string;
  /** SHA-256 of the Windows remediation document's Content string. */
  public readonly windowsRemediationHash: string;

  /**
   * The remediation document's `DryRun` default is fixed at `false` and does not follow the guard's
   * `dryRun`: the engine always sends `DryRun` explicitly and, in a dry run, sends no document at
   * all (docs/remediation.md), so a default that followed the setting would be read by nobody while
   * changing the document's content (and its pinned hash) each time the runtime switch is flipped.
   */
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const collector = pinnedContent(collectorDocumentContent());
    const remediation = pinnedContent(remediationDocumentContent('linux'));
    const windows = pinnedContent(remediationDocumentContent('windows'));
    this.collectorHash = collector.sha256;
    this.remediationHash = remediation.sha256;
    this.windowsRemediationHash = windows.sha256;
    this.collector = pinnedDocument(this, 'Collector', collector.text);
    // The Linux document keeps the id of the former two-platform document.
    this.remediation = pinnedDocument(this, 'Remediation', remediation.text);
    this.windowsRemediation = pinnedDocument(this, 'WindowsRemediation', windows.text);
  }

  /** ARN of a document of this construct, as `ssm:SendCommand` wants it as a resource. */
  public static documentArn(doc: CfnDocument): string {
    return Stack.of(doc).formatArn({ service: 'ssm', resource: 'document', resourceName: doc.ref, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  }
}
