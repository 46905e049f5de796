import { TimeSyncGuardStack } from '../../lib/time-sync-guard-stack';
import type { TimeSyncGuardProps } from '../../lib/time-sync-guard';
import { useNag } from '../support/nag';

const nag = useNag();

describe('cdk-nag AwsSolutions with launchTemplates: fix', () => {
  it('finds nothing unacknowledged', () => {
    const app = nag.app();
    new TimeSyncGuardStack(app, 'NagSources', { guard: { alarmEmails: ['ops@example.com'], launchTemplates: 'fix' } as TimeSyncGuardProps });
    expect(nag.findings(app)).toEqual([]);
  });
});
