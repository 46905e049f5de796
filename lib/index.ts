/**
 * The package's public entry (`import { TimeSyncGuard } from 'timesync-guard'`): the construct, its
 * props and errors, the two deployable stacks, and the constructs the guard exposes as properties
 * (so a consumer can name their types). Everything else under lib/ is internal and may change in
 * any release. docs/library.md explains how to use it; API.md is generated from the TSDoc here.
 */
export { TimeSyncGuard } from './time-sync-guard';
export {
  DEFAULT_CHECK_SCHEDULE,
  DEFAULT_REMEDIATION_MAX_ITERATIONS,
  DEFAULT_REMEDIATION_SCHEDULE,
  MAX_CHECK_INTERVAL,
  MIN_UNRESERVED_CHECK_INTERVAL,
  type TimeSyncGuardProps,
  TimeSyncGuardPropsError,
} from './time-sync-guard-props';
export { TimeSyncGuardStack, type TimeSyncGuardStackProps } from './time-sync-guard-stack';
export { TimeSyncGuardOrgStack, type TimeSyncGuardOrgStackProps } from './time-sync-guard-org-stack';
export { GuardFunction, type GuardFunctionProps } from './constructs/guard-function';
export { GuardAlarms, type GuardAlarmSet } from './constructs/guard-alarms';
export { GuestDocuments } from './constructs/guest-documents';
export { LaunchCheck } from './constructs/launch-check';
export { RemediationStateMachine } from './constructs/remediation-state-machine';
export { SettingsError } from '../lambda/core/settings';
