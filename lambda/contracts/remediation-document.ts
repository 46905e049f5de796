/**
 * The remediation document's parameters: the one contract between the document the stack creates
 * (lib/constructs/guest-documents.ts declares each parameter and passes it to the scripts) and the
 * engine that sends values (lambda/engine/remediation/guest-phase.ts). Pure: no SDK, no CDK, so
 * both sides import it. A parameter added here and not declared (or not sent) fails to compile.
 */

/** Every parameter of the remediation document, in the order the engine sends them. */
export const REMEDIATION_DOCUMENT_PARAMETERS = ['DryRun', 'Endpoint', 'UsePhc', 'InstallChrony', 'StepLargeOffset', 'ForceDomainMembers', 'VerifySeconds', 'FixNoProxy', 'FixTimeSync', 'FixMixedSources'] as const;

/** One parameter's name. */
export type RemediationDocumentParameter = (typeof REMEDIATION_DOCUMENT_PARAMETERS)[number];

/** The Amazon Time Sync endpoint the guest should use (`auto`: IPv6 only where there is no IPv4). */
export type RemediationEndpoint = 'auto' | 'ipv4' | 'ipv6';

/** The values of one run of the document, typed. */
export interface RemediationDocumentValues {
  readonly dryRun: boolean;
  readonly endpoint: RemediationEndpoint;
  readonly usePhc: boolean;
  readonly installChrony: boolean;
  readonly stepLargeOffset: boolean;
  readonly forceDomainMembers: boolean;
  /** The script's bounded wait for the Amazon source (0–999). */
  readonly verifySeconds: number;
  /** Run the NO_PROXY step (setting `fixNoProxy`). */
  readonly fixNoProxy: boolean;
  /** Run the time-sync step (setting `fixTimeSync`; false leaves only the NO_PROXY step). */
  readonly fixTimeSync: boolean;
  /** Linux: remove a smeared/unsmeared source mix from a host already on Amazon (setting `fixMixedSources`). */
  readonly fixMixedSources: boolean;
}

/** SendCommand's `Parameters` for these values: every parameter, as SSM wants it (a list of strings). */
export function remediationDocumentParameters(v: RemediationDocumentValues): Record<RemediationDocumentParameter, string[]> {
  return {
    DryRun: [String(v.dryRun)],
    Endpoint: [v.endpoint],
    UsePhc: [String(v.usePhc)],
    InstallChrony: [String(v.installChrony)],
    StepLargeOffset: [String(v.stepLargeOffset)],
    ForceDomainMembers: [String(v.forceDomainMembers)],
    VerifySeconds: [String(v.verifySeconds)],
    FixNoProxy: [String(v.fixNoProxy)],
    FixTimeSync: [String(v.fixTimeSync)],
    FixMixedSources: [String(v.fixMixedSources)],
  };
}

/** The document's `{{ Parameter }}` reference (what the steps' argument lines interpolate). */
export function documentParameterRef(p: RemediationDocumentParameter): string {
  return `{{ ${p} }}`;
}
