import { DEFAULTS, ENV, parseSettings, SettingsError } from '../../lambda/core/settings';

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
      [ENV.commandMaxConcurrency]: '25',
      [ENV.commandMaxErrors]: '10%',
      [ENV.topicArn]: 'arn:aws:sns:us-east-1:111122223333:t',
    });
    expect(s).toMatchObject({ dryRun: true, hopLimitTarget: 3, hopLimitScope: 'all', maxOffsetSeconds: 0.5 });
    expect(s.commandMaxConcurrency).toBe('25');
    expect(s.commandMaxErrors).toBe('10%');
    expect(s.topicArn).toBe('arn:aws:sns:us-east-1:111122223333:t');
  });

  it.each([
    [ENV.hopLimitTarget, '1', /TSG_HOP_LIMIT_TARGET.*\[2, 64\]/],
    [ENV.hopLimitTarget, '2.5', /integer/],
    [ENV.hopLimitTarget, '65', /TSG_HOP_LIMIT_TARGET/],
    [ENV.maxOffsetSeconds, 'abc', /TSG_MAX_OFFSET_SECONDS/],
    [ENV.maxChangesPercent, '101', /TSG_MAX_CHANGES_PERCENT/],
    [ENV.dryRun, 'maybe', /TSG_DRY_RUN.*true or false/],
    [ENV.hopLimitScope, 'some', /containers, containers-and-orchestrators, all/],
    [ENV.commandMaxConcurrency, '0', /TSG_COMMAND_MAX_CONCURRENCY/],
    [ENV.commandMaxConcurrency, '150%', /TSG_COMMAND_MAX_CONCURRENCY/],
    [ENV.commandMaxErrors, '-1', /TSG_COMMAND_MAX_ERRORS/],
    [ENV.commandTimeoutSeconds, '10', /TSG_COMMAND_TIMEOUT_SECONDS/],
  ])('rejects %s=%s with a message naming the variable', (key, value, message) => {
    expect(() => parseSettings({ [key]: value })).toThrow(SettingsError);
    expect(() => parseSettings({ [key]: value })).toThrow(message);
  });

  it('treats blank values as unset', () => {
    expect(parseSettings({ [ENV.dryRun]: '  ', [ENV.hopLimitTarget]: '' }).hopLimitTarget).toBe(2);
  });
});
