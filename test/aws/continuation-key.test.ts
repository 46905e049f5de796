import 'aws-sdk-client-mock-jest';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { ContinuationKeyError, secretContinuationKey } from '../../lambda/aws/continuation-key';
import { secretRecordKey } from '../../lambda/aws/imdsv2-record-key';
import { awsError } from '../support/sim';

const smMock = mockClient(SecretsManagerClient);
const SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:TimeSyncGuardContinuationKey-AbCdEf';
const VALUE = 'k'.repeat(64);

beforeEach(() => smMock.reset());

describe('secretContinuationKey', () => {
  it('reads the secret once per container and serves the cached key to every later invocation', async () => {
    smMock.on(GetSecretValueCommand).resolves({ SecretString: VALUE });
    const key = secretContinuationKey({ secretId: SECRET, client: new SecretsManagerClient({}) });
    const [a, b] = await Promise.all([key(), key()]);
    const c = await key();
    expect(Buffer.from(a).toString()).toBe(VALUE);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(smMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(smMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET });
  });

  it('does not cache a failed read: the next invocation tries again', async () => {
    smMock.on(GetSecretValueCommand).rejectsOnce(awsError('AccessDeniedException')).resolves({ SecretString: VALUE });
    const key = secretContinuationKey({ secretId: SECRET, client: new SecretsManagerClient({}) });
    await expect(key()).rejects.toMatchObject({ name: 'ContinuationKeyError', message: expect.stringContaining('AccessDeniedException') });
    expect(Buffer.from(await key()).toString()).toBe(VALUE);
    expect(smMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it.each([[undefined], [''], ['short-key']])('refuses to sign with a secret value %p that is not the generated key', async (value) => {
    smMock.on(GetSecretValueCommand).resolves(value === undefined ? {} : { SecretString: value });
    await expect(secretContinuationKey({ secretId: SECRET, client: new SecretsManagerClient({}) })()).rejects.toThrow(ContinuationKeyError);
  });

  it('fails with a clear error when no secret is configured, without calling AWS', async () => {
    await expect(secretContinuationKey({ secretId: '' })()).rejects.toThrow(/TSG_CONTINUATION_KEY_SECRET/);
    expect(smMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 0);
  });

  it('the IMDSv2 record key is read the same way and named in its errors', async () => {
    await expect(secretRecordKey({ secretId: '' })()).rejects.toThrow(/IMDSv2 record key.*TSG_IMDSV2_RECORD_KEY_SECRET/);
    smMock.on(GetSecretValueCommand).rejectsOnce(Object.assign(new Error('denied'), { name: 'AccessDeniedException' })).resolves({ SecretString: 'k'.repeat(64) });
    const key = secretRecordKey({ secretId: SECRET, client: new SecretsManagerClient({}) });
    await expect(key()).rejects.toMatchObject({ name: 'ContinuationKeyError', message: expect.stringContaining('IMDSv2 record key secret could not be read: AccessDeniedException') });
    await expect(key()).resolves.toEqual(Buffer.from('k'.repeat(64), 'utf8'));
    await key();
    expect(smMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });
});
