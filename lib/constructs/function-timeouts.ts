/**
 * The guard functions' timeouts (why 15 min: lib/constructs/guard-function.ts). Their own module, with
 * no import of the guard's constructs, so that the props module can read them without an import
 * cycle (guard-function → function-network → time-sync-guard-props → guard-function left
 * CHECK_TIMEOUT uninitialised when guard-function was loaded first, as bin/package.ts does).
 */
import { Duration } from 'aws-cdk-lib';

export const CHECK_TIMEOUT = Duration.minutes(15);
export const REMEDIATE_TIMEOUT = Duration.minutes(15);
