import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import fc from 'fast-check';
import { ENV, parseSettings, type SchemaPropName } from '../../lambda/core/settings';
import { guardPropsFromContext, ContextError, DEFAULT_STACK_NAME } from '../../lib/context';
import { TimeSyncGuard, type TimeSyncGuardProps } from '../../lib/time-sync-guard';
import { rateInterval, validateTimeSyncGuardProps } from '../../lib/time-sync-guard-props';
import { testApp } from './util';

function build(props: TimeSyncGuardProps): () => void {
  return () => new TimeSyncGuard(new Stack(testApp(), 'S'), 'Guard', props);
}

describe('TimeSyncGuard prop validation', () => {
  it.each<[string, TimeSyncGuardProps, RegExp]>([
    ['hop limit below 2', { hopLimitTarget: 1 }, /hopLimitTarget must be an integer in \[2, 64\], got 1/],
    ['hop limit above 64', { hopLimitTarget: 65 }, /hopLimitTarget/],
    ['fractional hop limit', { hopLimitTarget: 2.5 }, /hopLimitTarget/],
    ['percent above 100', { maxChangesPercent: 101 }, /maxChangesPercent must be a number in \[0, 100\]/],
    ['negative cap', { maxChangesPerRun: -1 }, /maxChangesPerRun/],
    ['zero offset threshold', { maxOffsetSeconds: 0 }, /maxOffsetSeconds/],
    ['NaN bound threshold', { maxClockErrorBoundSeconds: Number.NaN }, /maxClockErrorBoundSeconds/],
    ['concurrency 0', { remediationMaxConcurrency: '0' }, /remediationMaxConcurrency/],
    ['concurrency 101%', { remediationMaxConcurrency: '101%' }, /remediationMaxConcurrency/],
    ['errors as words', { remediationMaxErrors: 'ten' }, /remediationMaxErrors/],
    ['command timeout too short', { commandTimeoutSeconds: 10 }, /commandTimeoutSeconds/],
    ['bad scope', { hopLimitScope: 'everything' as never }, /hopLimitScope must be 'containers' or 'containers-and-orchestrators' or 'all'/],
    ['bad e-mail', { alarmEmails: ['ops@example.com', 'not-an-address'] }, /alarmEmails must be a list of e-mail addresses, got "not-an-address"/],
    ['AWS/ namespace', { metricNamespace: 'AWS/EC2' }, /metricNamespace must not start with AWS\//],
    ['namespace with spaces', { metricNamespace: 'Time Sync' }, /metricNamespace/],
    ['aws: tag key', { optOutTagKey: 'aws:x' }, /optOutTagKey must not start with aws:/],
    ['empty tag key', { optOutTagKey: '' }, /optOutTagKey/],
    ['aws. event source', { eventSource: 'aws.ec2' }, /eventSource/],
    ['bad schedule', { checkSchedule: 'every hour' }, /checkSchedule must be/],
    ['rate 0', { checkSchedule: 'rate(0 hours)' }, /checkSchedule must be/],
    ['five-field cron', { remediationSchedule: 'cron(0 2 * * *)' }, /remediationSchedule must be/],
    ['a cron check at uneven intervals', { checkSchedule: 'cron(0 9-17 * * ? *)' }, /checkSchedule fires at uneven intervals \(60, 960 minutes apart\)/],
    ['a cron check not every day', { checkSchedule: 'cron(0 * ? * MON-FRI *)' }, /checkSchedule a cron check schedule must fire every day/],
    ['a check interval that contradicts the schedule', { checkInterval: Duration.minutes(5) }, /checkInterval contradicts checkSchedule: 5 minutes given, the schedule runs every 1 hour/],
    ['interval over 12 h', { checkSchedule: 'rate(1 day)' }, /checkSchedule \(its interval, 1 day\) must be whole minutes between 1 minute and 12 hours/],
    ['interval in seconds', { checkInterval: Duration.seconds(90) }, /checkInterval must be whole minutes/],
    ['heartbeat window over a day', { remediationHeartbeatWindow: Duration.days(2) }, /remediationHeartbeatWindow/],
    ['unknown time zone', { timeZone: TimeZone.of('Mars/Olympus_Mons') }, /timeZone must be an IANA time zone name/],
    ['zero iterations', { remediationMaxIterations: 0 }, /remediationMaxIterations/],
    ['negative not-checked threshold', { notCheckedThreshold: -1 }, /notCheckedThreshold/],
  ])('rejects %s', (_what, props, message) => {
    expect(build(props)).toThrow(message);
  });

  it('names both props when alarmEmails and alarmTopic are given together', () => {
    const stack = new Stack(testApp(), 'S');
    const topic = Topic.fromTopicArn(stack, 'T', 'arn:aws:sns:us-east-1:123456789012:t');
    expect(() => new TimeSyncGuard(stack, 'Guard', { alarmEmails: ['a@example.com'], alarmTopic: topic })).toThrow(/alarmEmails and alarmTopic are mutually exclusive/);
  });

  it.each<[string, TimeSyncGuardProps]>([
    ['the defaults', {}],
    ['the edges of every range', { hopLimitTarget: 64, maxChangesPercent: 0, maxChangesPerRun: 0, maxOffsetSeconds: 300, remediationMaxConcurrency: '100%', remediationMaxErrors: '0', commandTimeoutSeconds: 30 }],
    ['a cron check with its interval', { checkSchedule: 'cron(0 */6 * * ? *)', checkInterval: Duration.hours(6) }],
    ['a cron check without an interval', { checkSchedule: 'cron(0 * * * ? *)' }],
    ['a time zone and a weekly remediation', { timeZone: TimeZone.AMERICA_NEW_YORK, remediationSchedule: 'cron(0 3 ? * SAT *)' }],
  ])('accepts %s', (_what, props) => {
    expect(build(props)).not.toThrow();
  });

  it('derives the check interval from a rate expression', () => {
    expect(rateInterval('rate(1 hour)')?.toMinutes()).toBe(60);
    expect(rateInterval('rate(15 minutes)')?.toMinutes()).toBe(15);
    expect(rateInterval('cron(0 * * * ? *)')).toBeUndefined();
    expect(validateTimeSyncGuardProps({}).toMinutes()).toBe(60);
    expect(validateTimeSyncGuardProps({ checkSchedule: 'cron(*/15 * * * ? *)' }).toMinutes()).toBe(15);
    expect(validateTimeSyncGuardProps({ checkSchedule: 'cron(30 0/6 ? * * *)' }).toMinutes()).toBe(360);
  });
});

describe('TimeSyncGuardProps and the settings schema', () => {
  it('declares a prop for every schema row that has one (a new row without its prop does not compile)', () => {
    const missing: [Exclude<SchemaPropName, keyof TimeSyncGuardProps>] extends [never] ? 'none' : 'some' = 'none';
    expect(missing).toBe('none');
  });
});

describe('guardPropsFromContext', () => {
  const ctx = (values: Record<string, unknown>) => (key: string) => values[key];

  it('returns no props and the default stack name for an empty context', () => {
    expect(guardPropsFromContext(ctx({}))).toEqual({ stackName: DEFAULT_STACK_NAME, alarmTopicArn: undefined, props: {} });
  });

  it('converts -c strings into typed props', () => {
    const { stackName, props } = guardPropsFromContext(
      ctx({
        stackName: 'TimeSyncGuardProd',
        dryRun: 'true',
        remediationEnabled: 'FALSE',
        hopLimitTarget: '3',
        maxChangesPercent: '7.5',
        alarmEmails: 'a@example.com, b@example.com',
        timeZone: 'Europe/Paris',
        checkIntervalMinutes: '30',
        checkSchedule: 'rate(30 minutes)',
        logRetentionDays: '365',
        hopLimitScope: 'all',
      }),
    );
    expect(stackName).toBe('TimeSyncGuardProd');
    expect(props).toMatchObject({ dryRun: true, remediationEnabled: false, hopLimitTarget: 3, maxChangesPercent: 7.5, alarmEmails: ['a@example.com', 'b@example.com'], hopLimitScope: 'all', logRetention: 365 });
    expect(props.timeZone?.timezoneName).toBe('Europe/Paris');
    expect(props.checkInterval?.toMinutes()).toBe(30);
  });

  it('accepts typed cdk.json values', () => {
    const { props } = guardPropsFromContext(ctx({ dryRun: false, hopLimitTarget: 2, alarmEmails: ['x@example.com'] }));
    expect(props).toEqual({ dryRun: false, hopLimitTarget: 2, alarmEmails: ['x@example.com'] });
  });

  it.each([
    [{ dryRun: 'yes please' }, /context dryRun="yes please": expected true or false/],
    [{ hopLimitTarget: 'two' }, /context hopLimitTarget="two": expected an integer in \[2, 64\]/],
    [{ logRetentionDays: '42' }, /context logRetentionDays="42": expected one of 1, 3, 5/],
    [{ alarmTopicArn: 'my-topic' }, /context alarmTopicArn="my-topic": expected an SNS topic ARN/],
    [{ stackName: '1bad name' }, /context stackName/],
    [{ alarmEmails: 42 }, /context alarmEmails=42/],
  ])('rejects %j with the key named', (values, message) => {
    expect(() => guardPropsFromContext(ctx(values))).toThrow(ContextError);
    expect(() => guardPropsFromContext(ctx(values))).toThrow(message);
  });

  it.each([
    ['dryrun', /context dryrun: unknown context key; did you mean dryRun\?/],
    ['dry-run', /did you mean dryRun\?/],
    ['DryRun', /did you mean dryRun\?/],
    ['alarmEmail', /did you mean alarmEmails\?/],
    ['frobnicate', /context frobnicate: unknown context key$/],
  ])('stops at the unknown context key %s, naming the nearest known one', (key, message) => {
    expect(() => guardPropsFromContext(ctx({ [key]: 'true' }), [key])).toThrow(message);
  });

  it("leaves the CDK's own context keys alone", () => {
    const keys = ['@aws-cdk/core:checkSecretUsage', 'aws:cdk:bundling-stacks', 'cli-telemetry', 'availability-zones:account=1:region=x', 'dryRun'];
    expect(() => guardPropsFromContext(ctx({ dryRun: 'true' }), keys)).not.toThrow();
  });

  it.each(['dryRun', 'alarmEmails', 'maxChangesPercent', 'checkSchedule', 'stackName'])('rejects an empty %s instead of using the default', (key) => {
    expect(() => guardPropsFromContext(ctx({ [key]: ' ' }))).toThrow(new RegExp(`context ${key}=" ": is empty`));
  });

  it('rejects a value out of its schema range at the context, naming the key', () => {
    expect(() => guardPropsFromContext(ctx({ maxChangesPercent: '150' }))).toThrow(/context maxChangesPercent="150": expected a number in \[0, 100\]/);
  });

  it('accepts the former names of the remediation knobs, and the construct warns', () => {
    const { props } = guardPropsFromContext(ctx({ commandMaxConcurrency: '5', commandMaxErrors: '1' }), ['commandMaxConcurrency', 'commandMaxErrors']);
    const stack = new Stack(testApp(), 'S');
    const guard = new TimeSyncGuard(stack, 'Guard', props);
    expect(guard.environment[ENV.remediationMaxConcurrency]).toBe('5');
    expect(guard.environment[ENV.remediationMaxErrors]).toBe('1');
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('commandMaxConcurrency is deprecated: use remediationMaxConcurrency'));
    expect(warnings).toHaveLength(1);
  });

  it('refuses a former name and its new name together', () => {
    expect(build({ commandMaxErrors: '1', remediationMaxErrors: '2' })).toThrow(/commandMaxErrors is the former name of remediationMaxErrors/);
  });

  it('accepts checkIntervalMinutes only when it agrees with the schedule', () => {
    expect(build(guardPropsFromContext(ctx({ checkIntervalMinutes: '60' })).props)).not.toThrow();
    expect(() => guardPropsFromContext(ctx({ checkIntervalMinutes: '5' }))).toThrow(/checkIntervalMinutes.*contradicts checkSchedule rate\(1 hour\) \(every 60 minutes\)/);
    expect(() => guardPropsFromContext(ctx({ checkIntervalMinutes: '60', checkSchedule: 'rate(30 minutes)' }))).toThrow(/contradicts checkSchedule rate\(30 minutes\)/);
    expect(build(guardPropsFromContext(ctx({ checkIntervalMinutes: '30', checkSchedule: 'rate(30 minutes)' })).props)).not.toThrow();
  });

  it('returns an alarm topic ARN for the stack to import', () => {
    expect(guardPropsFromContext(ctx({ alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' })).alarmTopicArn).toBe('arn:aws:sns:eu-west-1:123456789012:ops');
  });
});

describe('prop validation agrees with the Lambda settings parser', () => {
  // The construct validates at synth what parseSettings validates at cold start: a value must never
  // deploy and then fail every Lambda start. fast-check searches for a disagreement.
  const accepts = (props: TimeSyncGuardProps): boolean => {
    try {
      validateTimeSyncGuardProps(props);
      return true;
    } catch {
      return false;
    }
  };
  const parses = (env: Record<string, string>): boolean => {
    try {
      parseSettings(env);
      return true;
    } catch {
      return false;
    }
  };
  const countOrPercent = fc.oneof(
    fc.integer({ min: -5, max: 120_000 }).map(String),
    fc.integer({ min: -5, max: 120 }).map((n) => `${n}%`),
    fc.string({ maxLength: 6 }),
  );

  it('accepts exactly the MaxConcurrency and MaxErrors values the parser accepts', () => {
    fc.assert(
      fc.property(countOrPercent, countOrPercent, (concurrency, errors) => {
        expect(accepts({ remediationMaxConcurrency: concurrency })).toBe(parses({ [ENV.remediationMaxConcurrency]: concurrency }) && concurrency.trim() === concurrency && concurrency !== '');
        expect(accepts({ remediationMaxErrors: errors })).toBe(parses({ [ENV.remediationMaxErrors]: errors }) && errors.trim() === errors && errors !== '');
      }),
      { numRuns: 500 },
    );
  });

  it('never accepts a number the parser rejects', () => {
    const num = fc.oneof(fc.double({ min: -10, max: 2e6, noNaN: false }), fc.integer({ min: -10, max: 2_000_000 }));
    fc.assert(
      fc.property(num, num, num, num, num, (hop, percent, cap, offset, timeout) => {
        const props: TimeSyncGuardProps = { hopLimitTarget: hop, maxChangesPercent: percent, maxChangesPerRun: cap, maxOffsetSeconds: offset, commandTimeoutSeconds: timeout };
        if (accepts(props)) {
          expect(
            parses({
              [ENV.hopLimitTarget]: String(hop),
              [ENV.maxChangesPercent]: String(percent),
              [ENV.maxChangesPerRun]: String(cap),
              [ENV.maxOffsetSeconds]: String(offset),
              [ENV.commandTimeoutSeconds]: String(timeout),
            }),
          ).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('reservedConcurrency', () => {
  const fns = (props: TimeSyncGuardProps) => {
    const stack = new Stack(testApp(), 'S');
    new TimeSyncGuard(stack, 'Guard', props);
    return Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map((f) => f.Properties.ReservedConcurrentExecutions);
  };

  it('reserves nothing by default, so the stack deploys on an account at the new-account quota of 10', () => {
    expect(fns({})).toEqual([undefined, undefined]);
  });

  it('reserves the given concurrency on both functions', () => {
    expect(fns({ reservedConcurrency: 1 })).toEqual([1, 1]);
  });

  it.each([0, 1.5, 1001])('rejects reservedConcurrency %p', (n) => {
    expect(build({ reservedConcurrency: n })).toThrow(/reservedConcurrency must be an integer in \[1, 1000\]/);
  });

  it('refuses a check interval shorter than the check timeout without reserved concurrency (two scheduled checks could overlap)', () => {
    expect(build({ checkSchedule: 'rate(10 minutes)' })).toThrow(/less than the check timeout \(15 minutes\).*set reservedConcurrency/);
    expect(build({ checkSchedule: 'rate(10 minutes)', reservedConcurrency: 1 })).not.toThrow();
    expect(build({ checkSchedule: 'rate(15 minutes)' })).not.toThrow();
  });

  it('is read from the context key reservedConcurrency', () => {
    expect(guardPropsFromContext((k) => (k === 'reservedConcurrency' ? '1' : undefined)).props).toMatchObject({ reservedConcurrency: 1 });
  });
});
