/** docs/diagnosis.md documents every finding code and every verdict field (the README is merged from it). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FINDING_CODES } from '../../lambda/core/findings';

const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'diagnosis.md'), 'utf8');

describe('docs/diagnosis.md', () => {
  it.each(Object.keys(FINDING_CODES))('documents finding code %s', (code) => {
    expect(doc).toContain(`| \`${code}\` |`);
  });

  it.each(['platform', 'daemon', 'timeSource', 'synchronized', 'offsetSeconds', 'clockErrorBoundSeconds', 'containers', 'status', 'findings'])(
    'documents verdict field %s',
    (field) => {
      expect(doc).toContain(`| \`${field}\` |`);
    },
  );

  it('shows how to diagnose a box by hand', () => {
    expect(doc).toContain('npx timesync-guard collector linux');
    expect(doc).toContain('npx timesync-guard diagnose report.txt');
  });
});
