import { ArnFormat, Duration, Names, Stack } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { loggedStateMachine } from './logged-state-machine';

/** Props of {@link RemediationStateMachine}. */
export interface RemediationStateMachineProps {
  /** The remediate Lambda: `{ continuation?: string }` in, `{ done, continuation?, summary }` out. */
  readonly handler: IFunction;
  /** Invocations after which a run that is still not done fails (each is at most one Lambda timeout). */
  readonly maxIterations: number;
  /** Retention of the execution log group. */
  readonly logRetention: RetentionDays;
}

/**
 * A run must finish before the next night's run starts, else the overlap guard skips that night.
 * 23 h leaves an hour of slack under a daily schedule.
 */
export const REMEDIATION_RUN_TIMEOUT = Duration.hours(23);

/**
 * Standard Step Functions workflow around the remediate Lambda:
 * overlap guard (ListExecutions RUNNING, more than itself → succeed as skipped) → invoke loop
 * passing `continuation` until `done` → Succeed; more than `maxIterations` invocations → Fail.
 */
export class RemediationStateMachine extends Construct {
  /** The state machine the nightly schedule starts. */
  public readonly stateMachine: sfn.StateMachine;
  /** Its execution log group (level ALL). */
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: RemediationStateMachineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // The guard needs this machine's own ARN in its role policy; a reference to the machine would be
    // a cycle (role → machine → role), so the name is fixed up front, unique per construct path.
    const stateMachineName = Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });
    const ownArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    const init = sfn.Pass.jsonPath(this, 'Init', {
      comment: 'Loop state: invocation counter and the request for the next invocation.',
      parameters: { iteration: 0, request: {} },
    });

    const guard = tasks.CallAwsService.jsonPath(this, 'ListRunningExecutions', {
      comment: 'Overlap guard: this execution is one of the RUNNING ones; any other means a run is still going.',
      service: 'sfn',
      action: 'listExecutions',
      parameters: {
        StateMachineArn: sfn.JsonPath.stringAt('$$.StateMachine.Id'),
        StatusFilter: 'RUNNING',
        MaxResults: 2,
      },
      iamResources: [ownArn],
      iamAction: 'states:ListExecutions',
      resultSelector: { running: sfn.JsonPath.stringAt('States.ArrayLength($.Executions)') },
      resultPath: '$.guard',
    });
    guard.addRetry({ errors: ['Sfn.SfnException', 'States.TaskFailed'], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });

    const skipped = sfn.Pass.jsonPath(this, 'SkippedOverlap', {
      parameters: { skipped: 'overlap', reason: 'another remediation run of this state machine is still RUNNING' },
    }).next(new sfn.Succeed(this, 'Skipped', { comment: 'skipped: overlap' }));

    const invoke = tasks.LambdaInvoke.jsonPath(this, 'Remediate', {
      lambdaFunction: props.handler,
      payload: sfn.TaskInput.fromJsonPathAt('$.request'),
      // Keep only the handler's response (not the invocation metadata) in the loop state.
      resultSelector: { response: sfn.JsonPath.objectAt('$.Payload') },
      resultPath: '$.result',
      retryOnServiceExceptions: true,
    });
    // Throttled (reservedConcurrency set and a manual invocation in flight, or the account pool
    // exhausted): wait for it rather than fail.
    invoke.addRetry({ errors: ['Lambda.TooManyRequestsException'], interval: Duration.seconds(30), maxAttempts: 6, backoffRate: 2 });

    const done = new sfn.Succeed(this, 'Done', { outputPath: '$.result.response' });
    const tooMany = new sfn.Fail(this, 'TooManyIterations', {
      error: 'TimeSyncGuard.MaxIterations',
      cause: `remediation was not done after ${props.maxIterations} invocations`,
    });
    const next = sfn.Pass.jsonPath(this, 'NextIteration', {
      comment: 'Carry only the continuation token forward; a not-done result without one fails the run.',
      parameters: {
        iteration: sfn.JsonPath.stringAt('States.MathAdd($.iteration, 1)'),
        request: { continuation: sfn.JsonPath.stringAt('$.result.response.continuation') },
      },
    });

    const afterInvoke = new sfn.Choice(this, 'IsDone')
      .when(sfn.Condition.booleanEquals('$.result.response.done', true), done)
      .when(sfn.Condition.numberGreaterThanEquals('$.iteration', props.maxIterations - 1), tooMany)
      .otherwise(next);
    next.next(invoke);

    // A launch remediation (`{ trigger: "launch", instanceIds }`, started by the launch function)
    // hands its ids to the first invocation, which checks and fixes only those and refuses a null,
    // empty or malformed list; a scheduled run starts with an empty request, the whole region. An
    // input with a trigger but no ids is refused here: it is never read as the whole region.
    const initLaunch = sfn.Pass.jsonPath(this, 'InitLaunch', {
      comment: 'Loop state of a launch remediation: the first request carries the launched instance ids.',
      parameters: { iteration: 0, request: { 'instanceIds.$': '$.instanceIds' } },
    });
    initLaunch.next(guard);
    const refused = new sfn.Fail(this, 'LaunchRequestRefused', {
      error: 'TimeSyncGuard.LaunchRequestRefused',
      cause: 'a launch or urgent request (input with a trigger or capSpent) must name its instanceIds; it is never widened to the whole region',
    });
    // An urgent remediation (`{ trigger: "urgent", instanceIds, capSpent }`, started by the check
    // function) also hands on the part of the day's cap already spent; the handler refuses a
    // malformed list or count. One without ids is refused here, like a launch request.
    const initUrgent = sfn.Pass.jsonPath(this, 'InitUrgent', {
      comment: 'Loop state of an urgent remediation: the first request carries the urgent instance ids and the cap the day has spent.',
      parameters: { iteration: 0, request: { trigger: 'urgent', 'instanceIds.$': '$.instanceIds', 'capSpent.$': '$.capSpent' } },
    });
    initUrgent.next(guard);
    const urgentIds = new sfn.Choice(this, 'UrgentHasIds').when(sfn.Condition.isPresent('$.instanceIds'), initUrgent).otherwise(refused);
    const definition = new sfn.Choice(this, 'LaunchOrScheduled')
      .when(sfn.Condition.isPresent('$.capSpent'), urgentIds)
      .when(sfn.Condition.isPresent('$.instanceIds'), initLaunch)
      .when(sfn.Condition.isPresent('$.trigger'), refused)
      .otherwise(init);
    init
      .next(guard)
      .next(
        new sfn.Choice(this, 'OverlapGuard')
          .when(sfn.Condition.numberGreaterThan('$.guard.running', 1), skipped)
          .otherwise(invoke.next(afterInvoke)),
      );

    ({ stateMachine: this.stateMachine, logGroup: this.logGroup } = loggedStateMachine(this, {
      stateMachineName,
      definition,
      timeout: REMEDIATION_RUN_TIMEOUT,
      logRetention: props.logRetention,
      invokes: [{ fn: props.handler, what: 'the remediate function' }],
    }));
  }
}
