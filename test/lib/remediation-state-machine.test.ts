import { AslError, runAsl, type TaskHandler } from './asl';
import { flat, stackTemplate } from './util';

type Definition = { StartAt: string; States: Record<string, Record<string, unknown>> };

const LIST = 'arn:${AWS::Partition}:states:::aws-sdk:sfn:listExecutions';
const INVOKE = 'arn:${AWS::Partition}:states:::lambda:invoke';
const context = { StateMachine: { Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:tsg' }, Execution: { Id: 'self' } };

let definition: Definition;
beforeAll(() => {
  const { template } = stackTemplate();
  const sm = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
  definition = JSON.parse(flat(sm.Properties.DefinitionString)) as Definition;
});

/** A fake AWS side: `running` executions listed, the remediate Lambda answered by `respond`. */
function fake(respond: (request: Record<string, unknown>, call: number) => unknown, running = 1) {
  const requests: Array<Record<string, unknown>> = [];
  const listed: unknown[] = [];
  const task: TaskHandler = (resource, params) => {
    const p = params as Record<string, unknown>;
    if (resource === LIST) {
      listed.push(p);
      return { Executions: Array.from({ length: running }, (_, i) => ({ executionArn: `e${i}`, status: 'RUNNING' })) };
    }
    if (resource === INVOKE) {
      requests.push(p.Payload as Record<string, unknown>);
      return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: respond(p.Payload as Record<string, unknown>, requests.length) };
    }
    throw new Error(`unexpected resource ${resource}`);
  };
  return { task, requests, listed };
}

describe('remediation state machine (executed)', () => {
  it('invokes until done, passing each continuation to the next invocation', () => {
    const { task, requests, listed } = fake((_req, call) => (call < 3 ? { done: false, continuation: `tok${call}`, summary: { call } } : { done: true, summary: { call } }));
    const run = runAsl(definition, {}, task, context);
    expect(run.status).toBe('SUCCEEDED');
    expect(listed).toEqual([{ StateMachineArn: context.StateMachine.Id, StatusFilter: 'RUNNING', MaxResults: 2 }]);
    expect(requests).toEqual([{}, { continuation: 'tok1' }, { continuation: 'tok2' }]);
    expect(run.output).toEqual({ done: true, summary: { call: 3 } });
  });

  it('hands a launch request\'s instance ids to the first invocation only, then only continuations', () => {
    const { task, requests } = fake((_req, call) => (call < 2 ? { done: false, continuation: `tok${call}`, summary: {} } : { done: true, summary: {} }));
    const ids = ['i-0123456789abcdef0', 'i-0123456789abcdef1'];
    const run = runAsl(definition, { trigger: 'launch', instanceIds: ids }, task, context);
    expect(run.status).toBe('SUCCEEDED');
    expect(requests).toEqual([{ instanceIds: ids }, { continuation: 'tok1' }]);
  });

  it('refuses an input with a trigger but no instance ids without invoking the Lambda (never the whole region)', () => {
    const { task, requests } = fake(() => ({ done: true, summary: {} }));
    const run = runAsl(definition, { trigger: 'launch' }, task, context);
    expect(run).toMatchObject({ status: 'FAILED', error: 'TimeSyncGuard.LaunchRequestRefused' });
    expect(requests).toHaveLength(0);
  });

  it('hands instanceIds: null to the first invocation as a launch request (which the handler refuses), not as an empty request', () => {
    const { task, requests } = fake(() => {
      throw new AslError('RemediationRunError', 'launch remediation request refused: instanceIds is null');
    });
    const run = runAsl(definition, { trigger: 'launch', instanceIds: null }, task, context);
    expect(run).toMatchObject({ status: 'FAILED', error: 'RemediationRunError' });
    expect(requests).toEqual([{ instanceIds: null }]);
  });

  it("hands an urgent request's ids and spent cap to the first invocation only, as an urgent request", () => {
    const { task, requests } = fake((_req, call) => (call < 2 ? { done: false, continuation: `tok${call}`, summary: {} } : { done: true, summary: {} }));
    const ids = ['i-0123456789abcdef0'];
    const run = runAsl(definition, { trigger: 'urgent', instanceIds: ids, capSpent: 7 }, task, context);
    expect(run.status).toBe('SUCCEEDED');
    expect(requests).toEqual([{ trigger: 'urgent', instanceIds: ids, capSpent: 7 }, { continuation: 'tok1' }]);
  });

  it.each([
    ['no instance ids', { trigger: 'urgent', capSpent: 0 }],
    ['a spent cap and nothing else', { capSpent: 3 }],
  ])('refuses an urgent request with %s without invoking the Lambda', (_name, input) => {
    const { task, requests } = fake(() => ({ done: true, summary: {} }));
    const run = runAsl(definition, input, task, context);
    expect(run).toMatchObject({ status: 'FAILED', error: 'TimeSyncGuard.LaunchRequestRefused' });
    expect(requests).toHaveLength(0);
  });

  it('skips an urgent request while another run is going (the check waits for it instead)', () => {
    const { task, requests } = fake(() => ({ done: true, summary: {} }), 2);
    const run = runAsl(definition, { trigger: 'urgent', instanceIds: ['i-0123456789abcdef0'], capSpent: 0 }, task, context);
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { skipped: 'overlap' } });
    expect(requests).toHaveLength(0);
  });

  it('finishes after one invocation when the first run is done', () => {
    const { task, requests } = fake(() => ({ done: true, summary: {} }));
    expect(runAsl(definition, {}, task, context).status).toBe('SUCCEEDED');
    expect(requests).toHaveLength(1);
  });

  it('skips the run without invoking the Lambda when another execution is running', () => {
    const { task, requests } = fake(() => ({ done: true, summary: {} }), 2);
    const run = runAsl(definition, {}, task, context);
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ skipped: 'overlap' });
    expect(requests).toHaveLength(0);
  });

  it('fails after exactly 60 invocations of a run that is never done', () => {
    const { task, requests } = fake((_r, call) => ({ done: false, continuation: `c${call}`, summary: {} }));
    const run = runAsl(definition, {}, task, context);
    expect(run).toMatchObject({ status: 'FAILED', error: 'TimeSyncGuard.MaxIterations' });
    expect(requests).toHaveLength(60);
  });

  it('fails rather than loops when a not-done result carries no continuation', () => {
    const { task, requests } = fake(() => ({ done: false, summary: {} }));
    expect(runAsl(definition, {}, task, context)).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(requests).toHaveLength(1);
  });

  it('fails when the handler breaks the contract (no done flag)', () => {
    const { task } = fake(() => ({ summary: {} }));
    expect(runAsl(definition, {}, task, context)).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });

  it('retries a Lambda service error with the same request', () => {
    let calls = 0;
    const seen: unknown[] = [];
    const task: TaskHandler = (resource, params) => {
      if (resource === LIST) return { Executions: [{}] };
      calls++;
      seen.push((params as Record<string, unknown>).Payload);
      if (calls === 1) throw new AslError('Lambda.ServiceException', 'transient');
      return { Payload: { done: true, summary: {} } };
    };
    expect(runAsl(definition, {}, task, context).status).toBe('SUCCEEDED');
    expect(seen).toEqual([{}, {}]);
  });

  it('does not retry a function error (the handler failed: the run fails and alarms)', () => {
    let calls = 0;
    const task: TaskHandler = (resource) => {
      if (resource === LIST) return { Executions: [{}] };
      calls++;
      throw new AslError('RemediationRunError', 'boom');
    };
    expect(runAsl(definition, {}, task, context)).toMatchObject({ status: 'FAILED', error: 'RemediationRunError' });
    expect(calls).toBe(1);
  });
});
