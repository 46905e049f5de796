import { lazySnsNotifier, onFirstUse } from '../../lambda/aws/lazy-adapters';

/** The SDK client modules a handler module loads when it is imported (the module registry, not the bundle). */
function clientModulesLoadedAtImport(file: string, watched: readonly string[]): string[] {
  const loaded: string[] = [];
  jest.isolateModules(() => {
    for (const name of watched) {
      jest.doMock(name, () => {
        loaded.push(name);
        return jest.requireActual(name);
      });
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(file);
  });
  for (const name of watched) jest.dontMock(name);
  return loaded;
}

// CloudWatch is not watched here: clients.ts (the CLI's client set) and metrics.ts (the CLI's
// PutMetricData) import it for code the bundle tree-shakes away; test/bench/cold-load.test.ts runs
// the deployed bundle and shows its start-up runs no CloudWatch code.
const LAZY_CLIENTS = ['@aws-sdk/client-s3', '@aws-sdk/client-secrets-manager', '@aws-sdk/client-eventbridge', '@aws-sdk/client-sns'];

describe('clients loaded on first use', () => {
  it('importing the check handler loads none of the clients only some runs use (S3, Secrets Manager, EventBridge, SNS)', () => {
    expect(clientModulesLoadedAtImport('../../lambda/handlers/check', [...LAZY_CLIENTS, '@aws-sdk/client-ec2'])).toEqual(['@aws-sdk/client-ec2']);
  });

  it('importing the remediate handler loads the audit and continuation-key clients every run uses, not S3 or SNS', () => {
    const loaded = clientModulesLoadedAtImport('../../lambda/handlers/remediate', LAZY_CLIENTS);
    expect(loaded.sort()).toEqual(['@aws-sdk/client-eventbridge', '@aws-sdk/client-secrets-manager']);
  });

  it('builds once and reuses; a failed build is tried again at the next call', async () => {
    let builds = 0;
    const fail = [true, false];
    const get = onFirstUse(async () => {
      builds++;
      if (fail.shift()) throw new Error('module load failed');
      return { n: builds };
    });
    await expect(get()).rejects.toThrow('module load failed');
    await expect(get()).resolves.toEqual({ n: 2 });
    await expect(get()).resolves.toEqual({ n: 2 });
    expect(builds).toBe(2);
  });

  it('a notifier without a topic sends nothing and loads no SNS client', async () => {
    const loaded: string[] = [];
    let notifier!: ReturnType<typeof lazySnsNotifier>;
    jest.isolateModules(() => {
      jest.doMock('@aws-sdk/client-sns', () => {
        loaded.push('sns');
        return jest.requireActual('@aws-sdk/client-sns');
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      notifier = (require('../../lambda/aws/lazy-adapters') as typeof import('../../lambda/aws/lazy-adapters')).lazySnsNotifier(undefined);
    });
    await expect(notifier.publish('s', {})).resolves.toBe(false);
    expect(loaded).toEqual([]);
    jest.dontMock('@aws-sdk/client-sns');
  });
});
