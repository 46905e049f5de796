/** Every in-guest shell script passes `shellcheck -s sh` (POSIX sh: they run on any distribution, busybox included). */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const GUEST = join(__dirname, '..', '..', 'lambda', 'guest');
const scripts = readdirSync(GUEST).filter((f) => f.endsWith('.sh'));

describe('shellcheck', () => {
  it('finds the guest scripts', () => {
    expect(scripts).toContain('collect-linux.sh');
  });

  it.each(scripts)('%s passes shellcheck -s sh', (file) => {
    const r = spawnSync('shellcheck', ['-s', 'sh', '-f', 'gcc', join(GUEST, file)], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
