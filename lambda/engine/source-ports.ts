/**
 * The port of the IMDS-option sources (launch templates, Auto Scaling groups, AMIs): kept beside
 * ./ports.ts in its own file while issue 21's phase redesign lands (the integrator may fold it in).
 * Reads never throw: what could not be read is data, and nothing is acted on from it.
 */
import type { AutoScalingGroupInfo, ImageInfo, LaunchTemplateInfo, LaunchTemplateVersionInfo, MetadataOptionsSpec } from '../core/sources/types';

/** A read: the value, or why it could not be had. */
export type SourceRead<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** The outcome of one write. */
export type SourceWrite<T = object> = ({ readonly outcome: 'done' } & T) | { readonly outcome: 'failed' | 'denied' | 'throttled'; readonly error: string };

export interface LaunchSourcesPort {
  /** Every Auto Scaling group of the region (paginated). */
  listGroups(): Promise<SourceRead<AutoScalingGroupInfo[]>>;
  /** These templates by id (absent from the answer: gone or not visible). */
  describeTemplates(ids: readonly string[]): Promise<SourceRead<LaunchTemplateInfo[]>>;
  /** These versions of one template. */
  describeVersions(templateId: string, versions: readonly number[]): Promise<SourceRead<LaunchTemplateVersionInfo[]>>;
  /** `ImdsSupport` of these AMIs (a deregistered AMI is simply absent). */
  describeImages(ids: readonly string[]): Promise<SourceRead<ImageInfo[]>>;
  /** CreateLaunchTemplateVersion from `sourceVersion` with only `MetadataOptions` given. */
  createVersion(r: { templateId: string; sourceVersion: number; metadataOptions: MetadataOptionsSpec; description: string }): Promise<SourceWrite<{ version: number }>>;
  /** ModifyLaunchTemplate `DefaultVersion`. */
  setDefaultVersion(templateId: string, version: number): Promise<SourceWrite>;
}
