/**
 * The README is the manual: every finding code, verdict field, setting, metric and alarm the code
 * defines must be documented there, so a new code cannot ship undocumented.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_DETAIL_TYPES } from '../../lambda/aws/audit';
import { INSTANCE_FINDING_CODES } from '../../lambda/core/evaluate';
import { FINDING_CODES } from '../../lambda/core/findings';
import { CHECK_METRICS, REMEDIATION_METRICS } from '../../lambda/core/metric-names';
import { DEFAULTS } from '../../lambda/core/settings';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

describe('README.md', () => {
  it.each(Object.keys(FINDING_CODES))('documents guest finding code %s', (code) => {
    expect(readme).toContain(`| \`${code}\` |`);
  });

  it.each(Object.keys(INSTANCE_FINDING_CODES))('documents instance finding code %s', (code) => {
    expect(readme).toContain(`\`${code}\``);
  });

  it.each(['platform', 'daemon', 'timeSource', 'synchronized', 'offsetSeconds', 'clockErrorBoundSeconds', 'containers', 'status', 'findings'])(
    'documents verdict field %s',
    (field) => {
      expect(readme).toContain(`| \`${field}\` |`);
    },
  );

  it.each(Object.keys(DEFAULTS).filter((k) => k !== 'collectorDocument' && k !== 'remediationDocument'))('documents setting %s', (key) => {
    expect(readme).toContain(`\`${key}\``);
  });

  it.each([...Object.values(CHECK_METRICS), ...Object.values(REMEDIATION_METRICS).filter((m) => m !== REMEDIATION_METRICS.remediationCompleted)])(
    'documents metric %s',
    (metric) => {
      expect(readme).toContain(metric.replace(/^Remediation/, ''));
    },
  );

  it.each(Object.values(AUDIT_DETAIL_TYPES))('documents the audit detail-type %s', (detailType) => {
    expect(readme).toContain(detailType);
  });

  it('gives the two set-up commands and how to diagnose a box by hand', () => {
    expect(readme).toContain('npm ci && npm run synth');
    expect(readme).toContain('npm ci && npm test');
    expect(readme).toContain('npx timesync-guard collector linux');
    expect(readme).toContain('npx timesync-guard diagnose report.txt');
  });
});
