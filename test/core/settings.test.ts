import { DEFAULTS, ENV, nearest, parseCheckSettings, parseSettings, rows, scheduleIntervalMinutes, scheduleProblem, SETTINGS, SettingsError } from '../../lambda/core/settings';

describe('parseSettings', () => {
  it('returns the documented defaults for an empty environment', () => {
    const s = parseSettings({});
    expect(s).toMatchObject({
      metricNamespace: DEFAULTS.metricNamespace,
      optOutTagKey: DEFAULTS.optOutTagKey,
      maxOffsetSeconds: 1,
      maxClockErrorBoundSeconds: 1,
      dryRun: false,
      hopLimitTarget: 2,
      hopLimitScope: 'containers',
      enableMetadataEndpoint: false,
      installChrony: false,
      maxChangesPerRun: 10000,
      maxChangesPercent: 100,
    });
    expect(s.topicArn).toBeUndefined();
  });

  it('reads every value from its environment variable', () => {
    const s = parseSettings({
      [ENV.dryRun]: 'true',
      [ENV.hopLimitTarget]: '3',
      [ENV.hopLimitScope]: 'all',
      [ENV.maxOffsetSeconds]: '0.5',
      [ENV.remediationMaxConcurrency]: '25',
      [ENV.remediationMaxErrors]: '10%',
      [ENV.topicArn]: 'arn:aws:sns:us-east-1:111122223333:t',
    });
    expect(s).toMatchObject({ dryRun: true, hopLimitTarget: 3, hopLimitScope: 'all', maxOffsetSeconds: 0.5 });
    expect(s.remediationMaxConcurrency).toBe('25');
    expect(s.remediationMaxErrors).toBe('10%');
    expect(s.topicArn).toBe('arn:aws:sns:us-east-1:111122223333:t');
  });

  it.each([
    [ENV.hopLimitTarget, '1', /TSG_HOP_LIMIT_TARGET.*\[2, 64\]/],
    [ENV.hopLimitTarget, '2.5', /integer/],
    [ENV.hopLimitTarget, '65', /TSG_HOP_LIMIT_TARGET/],
    [ENV.maxOffsetSeconds, 'abc', /TSG_MAX_OFFSET_SECONDS/],
    [ENV.maxChangesPercent, '101', /TSG_MAX_CHANGES_PERCENT/],
    [ENV.dryRun, 'maybe', /TSG_DRY_RUN.*true or false/],
    [ENV.hopLimitScope, 'some', /expected containers or containers-and-orchestrators or all/],
    [ENV.remediationMaxConcurrency, '0', /TSG_REMEDIATION_MAX_CONCURRENCY/],
    [ENV.remediationMaxConcurrency, '150%', /TSG_REMEDIATION_MAX_CONCURRENCY/],
    [ENV.remediationMaxErrors, '-1', /TSG_REMEDIATION_MAX_ERRORS/],
    [ENV.commandTimeoutSeconds, '10', /TSG_COMMAND_TIMEOUT_SECONDS/],
  ])('rejects %s=%s with a message naming the variable', (key, value, message) => {
    expect(() => parseSettings({ [key]: value })).toThrow(SettingsError);
    expect(() => parseSettings({ [key]: value })).toThrow(message);
  });

  it('rejects a blank value instead of silently using the default', () => {
    expect(() => parseSettings({ [ENV.hopLimitTarget]: '' })).toThrow(/TSG_HOP_LIMIT_TARGET="": is empty/);
    expect(() => parseSettings({ [ENV.dryRun]: '  ' })).toThrow(/TSG_DRY_RUN=" {2}": is empty/);
  });
});

describe('unknown and mistyped variables', () => {
  it.each([
    ['TSG_DRYRUN', /TSG_DRYRUN: unknown variable; did you mean TSG_DRY_RUN\?/],
    ['TSG_MAX_OFSET_SECONDS', /did you mean TSG_MAX_OFFSET_SECONDS\?/],
    ['TSG_COMMAND_MAX_ERRORS', /did you mean TSG_REMEDIATION_MAX_ERRORS\?|unknown variable/],
  ])('fails the cold start for %s, naming the nearest known one', (name, message) => {
    expect(() => parseSettings({ [name]: 'true' })).toThrow(SettingsError);
    expect(() => parseSettings({ [name]: 'true' })).toThrow(message);
    expect(() => parseCheckSettings({ [name]: 'true' })).toThrow(message);
  });

  it('ignores variables that are not ours and the documented non-setting ones', () => {
    expect(() => parseSettings({ PATH: '/bin', AWS_REGION: 'eu-west-1', TSG_DEBUG: '1', BENCH_SSM_BUCKET: '40' })).not.toThrow();
  });

  it('knows nothing of the benchmark: its SSM rate variable is not a TSG_ one (bench --ssm-rate sets BENCH_SSM_BUCKET)', () => {
    expect(() => parseSettings({ TSG_BENCH_SSM_BUCKET: '40' })).toThrow(SettingsError);
  });
});

describe('nearest', () => {
  it.each([
    ['dryrun', 'dryRun'],
    ['dry-run', 'dryRun'],
    ['DryRun', 'dryRun'],
    ['alarmEmail', 'alarmEmails'],
    ['hopLimitTraget', 'hopLimitTarget'],
  ])('suggests %s → %s', (typo, known) => {
    expect(nearest(typo, Object.keys(SETTINGS))).toBe(known);
  });

  it('suggests nothing for a name far from every known one', () => {
    expect(nearest('bananas', Object.keys(SETTINGS))).toBeUndefined();
  });
});

describe('check and remediation settings', () => {
  it('gives the check only the rows it reads, and the remediation every row with a variable', () => {
    const check = parseCheckSettings({});
    expect(Object.keys(check).sort()).toEqual(rows().filter((r) => r.env && (r.scope === 'check' || r.scope === 'both') && 'default' in r).map((r) => r.key).sort());
    expect(check).not.toHaveProperty('dryRun');
    expect(parseSettings({})).toHaveProperty('dryRun', false);
  });

  it('declares each row with a type, a scope, a one-line doc and a default or a reason to have none', () => {
    for (const r of rows()) {
      expect(r.doc).toMatch(/^\S.*[.)]$/);
      expect(r.doc).not.toContain('\n');
      if (r.env) expect(r.env).toMatch(/^TSG_[A-Z0-9_]+$/);
      if (r.scope === 'stack') expect(r.env).toBeUndefined();
    }
    expect(new Set(rows().map((r) => r.env).filter(Boolean)).size).toBe(rows().filter((r) => r.env).length);
  });
});

describe('schedule expressions, judged as EventBridge Scheduler judges them', () => {
  it.each([
    'rate(1 minute)', 'rate(5 minutes)', 'rate(1 hour)', 'rate(12 hours)', 'rate(1 day)', 'rate(7 days)',
    'cron(0 2 * * ? *)', 'cron(0 3 ? * SAT *)', 'cron(0/15 8-17 ? * MON-FRI *)', 'cron(15 10 ? * 6#3 *)',
    'cron(0 10 ? * 6L 2027)', 'cron(0 8 1W * ? *)', 'cron(0 8 L * ? *)', 'cron(0 0 1,15 JAN-JUN ? 2026-2030)',
  ])('accepts %s', (expression) => {
    expect(scheduleProblem(expression)).toBeUndefined();
  });

  it.each([
    ['cron(0 2 * * * *)', /exactly one of day-of-month and day-of-week must be \?/],
    ['cron(0 2 ? * ? *)', /cannot both be \?/],
    ['cron(0 2 * * ?)', /6 fields/],
    ['cron(60 2 * * ? *)', /minutes field/],
    ['cron(0 24 * * ? *)', /hours field/],
    ['cron(0 2 32 * ? *)', /day-of-month field/],
    ['cron(0 2 ? 13 MON *)', /month field/],
    ['cron(0 2 ? * FUNDAY *)', /day-of-week field/],
    ['cron(0 2 * * ? 1969)', /year field/],
    ['cron(0/0 2 * * ? *)', /minutes field/],
    ['rate(1 minutes)', /singular/],
    ['rate(2 hour)', /plural/],
    ['rate(0 minutes)', /at least 1/],
    ['rate(1 week)', /expected 'rate/],
    ['every hour', /expected 'rate/],
  ])('rejects %s', (expression, message) => {
    expect(scheduleProblem(expression)).toMatch(message);
  });

  it.each([
    ['rate(1 hour)', 60],
    ['rate(15 minutes)', 15],
    ['rate(1 day)', 1440],
    ['cron(0 * * * ? *)', 60],
    ['cron(*/10 * * * ? *)', 10],
    ['cron(0 0/6 * * ? *)', 360],
    ['cron(0,30 * * * ? *)', 30],
  ])('derives the interval of %s: %i minutes', (expression, minutes) => {
    expect(scheduleIntervalMinutes(expression)).toEqual({ minutes });
  });

  it.each(['cron(0 9-17 * * ? *)', 'cron(0,10 * * * ? *)', 'cron(0 * ? * MON-FRI *)', 'cron(0 * 1 * ? *)'])('finds no single interval for %s', (expression) => {
    expect(scheduleIntervalMinutes(expression)).toHaveProperty('problem');
  });
});
