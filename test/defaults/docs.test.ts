/** Every account-level finding code, metric and the audit detail-type are documented in docs/account-defaults.md. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_DETAIL_TYPES } from '../../lambda/aws/audit';
import { ACCOUNT_DEFAULTS_METRICS, ACCOUNT_FINDING_CODES } from '../../lambda/core/fleet/metadata-defaults';

const root = join(__dirname, '..', '..');
const page = readFileSync(join(root, 'docs', 'account-defaults.md'), 'utf8');

describe('docs/account-defaults.md', () => {
  it.each(Object.keys(ACCOUNT_FINDING_CODES))('documents account finding code %s', (code) => {
    expect(page).toContain(`| \`${code}\` |`);
  });

  it.each(Object.values(ACCOUNT_DEFAULTS_METRICS))('documents metric %s', (metric) => {
    expect(page).toContain(`| \`${metric}\` |`);
  });

  it('documents the audit detail-type and is linked from docs/README.md', () => {
    expect(page).toContain(AUDIT_DETAIL_TYPES.accountDefaults);
    expect(readFileSync(join(root, 'docs', 'README.md'), 'utf8')).toContain('(account-defaults.md)');
  });

  it('says defaults affect new launches only', () => {
    expect(page).toMatch(/new\s+launches only/i);
  });
});
