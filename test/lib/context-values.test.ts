/**
 * Context values as a user types them: every boolean context key reads the same spellings (one
 * parser), and the log retention the messages offer is exactly what the validation accepts.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { contextBoolean, ContextError, guardPropsFromContext } from '../../lib/context';
import { organizationMode } from '../../lib/time-sync-guard-org-stack';
import { contextKey, expected, LOG_RETENTION_DAYS, propName, row, rows } from '../../lambda/core/settings';

/** Reads one boolean context key through the code the app uses for it. */
type Reader = (value: unknown) => boolean | undefined;
const schemaBooleans: [string, Reader][] = rows()
  .filter((r) => r.type === 'boolean' && contextKey(r.key) !== undefined)
  .map((r) => [contextKey(r.key)!, (value) => (guardPropsFromContext((k) => (k === contextKey(r.key) ? value : undefined)).props as Record<string, unknown>)[propName(r.key)!] as boolean | undefined]);
const BOOLEAN_KEYS: [string, Reader][] = [...schemaBooleans, ['organization', (value) => organizationMode((k) => (k === 'organization' ? value : undefined))]];

const SPELLINGS: [unknown, boolean][] = [
  [true, true], ['true', true], ['TRUE', true], ['yes', true], ['Yes', true], ['1', true], [' true ', true],
  [false, false], ['false', false], ['False', false], ['no', false], ['NO', false], ['0', false],
];

describe('boolean context keys', () => {
  it('finds every boolean context key, organization and dryRun among them', () => {
    expect(BOOLEAN_KEYS.map(([k]) => k)).toEqual(expect.arrayContaining(['organization', 'dryRun', 'launchCheck', 'fixNoProxy', 'remediationEnabled']));
    expect(BOOLEAN_KEYS.length).toBeGreaterThanOrEqual(15);
  });

  describe.each(BOOLEAN_KEYS)('%s', (key, read) => {
    it.each(SPELLINGS)('reads %p as %p', (value, want) => {
      expect(read(value)).toBe(want);
    });

    it.each(['maybe', 'on', '2', ''])('refuses %p naming the key, the value and what it accepts', (value) => {
      let error: unknown;
      try {
        read(value);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ContextError);
      const { setting, problem } = error as ContextError;
      expect(setting).toBe(key);
      expect(problem).toBe(value === '' ? 'is empty (remove it to use the default)' : `expected true or false, got ${JSON.stringify(value)}`);
    });
  });

  it('leaves an absent key to its default', () => {
    expect(contextBoolean('organization', undefined)).toBeUndefined();
    expect(organizationMode(() => undefined)).toBe(false);
  });
});

describe('logRetentionDays', () => {
  const read = (value: unknown): unknown => guardPropsFromContext((k) => (k === 'logRetentionDays' ? value : undefined)).props.logRetention;
  const problemOf = (value: unknown): string => {
    try {
      read(value);
    } catch (e) {
      return (e as ContextError).problem;
    }
    return 'accepted';
  };

  it('accepts every value it offers, from -c (a string) and from cdk.json (a number)', () => {
    for (const days of LOG_RETENTION_DAYS) {
      expect(read(String(days))).toBe(days);
      expect(read(days)).toBe(days);
    }
  });

  it.each([9999, 0, 2, 366, 4000, 90.5])('refuses %p and offers only values it accepts', (days) => {
    const problem = problemOf(String(days));
    expect(problem).toBe(`expected ${expected(row('logRetentionDays'))}, got "${days}"`);
    const offered = /one of ([\d, ]+?), got/.exec(problem)![1]!.split(', ').map(Number);
    expect(offered).toEqual([...LOG_RETENTION_DAYS]);
    for (const o of offered) expect(problemOf(o)).toBe('accepted');
  });

  it("offers the retention values the CDK knows CloudWatch Logs accepts, without its INFINITE (9999: no retention at all, not a value PutRetentionPolicy takes)", () => {
    const cdk = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number' && v !== RetentionDays.INFINITE);
    expect([...LOG_RETENTION_DAYS]).toEqual([...cdk].sort((a, b) => a - b));
  });
});
