/**
 * Where an instance came from (its launch template, group, node group, node pool, AMI), as the
 * inventory reads it from the instance's tags. Its own file, importing nothing, so that the shared
 * instance record (../types.ts) can carry it without a type cycle.
 */
/** Where one instance came from, read from its tags and ImageId (every field untrusted, bounded). */
export interface LaunchOrigin {
  readonly templateId?: string;
  /** The version number the instance was launched from (EC2 writes the number, never `$Default`). */
  readonly templateVersion?: number;
  readonly autoScalingGroup?: string;
  readonly eksNodegroup?: string;
  readonly eksCluster?: string;
  readonly karpenterNodePool?: string;
  readonly karpenterNodeClass?: string;
  readonly imageId?: string;
}
