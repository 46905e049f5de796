import { ArnFormat, type CfnElement, Duration, Names, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { HUB_RUN_PREFIX } from '../../lambda/core/fleet/hub-run-data';
import { loggedStateMachine } from './logged-state-machine';

/** Props of {@link OrgStateMachine}. */
export interface OrgStateMachineProps {
  /** hub-run: `{ action: 'list', mode }` → listing; `{ action: 'summarize', listing, results }` → summary. */
  readonly runHandler: IFunction;
  /** hub-item: one (account, region) slice or continuation per invocation; never throws for an account. */
  readonly itemHandler: IFunction;
  /** Child executions of the distributed Map running at once (accounts in parallel). */
  readonly maxConcurrency: number;
  /** Invocations of hub-item per account-region after which that item is reported as failed (never the run). */
  readonly maxItemInvocations: number;
  /** Retention of the execution log group. */
  readonly logRetention: RetentionDays;
  /** The run bucket: hub-run writes the item list there, the Map's ResultWriter its results. */
  readonly runBucket: IBucket;
}

/** A run (1,000 accounts × slices, or a night's remediation) ends before the next night's one starts. */
export const ORG_RUN_TIMEOUT = Duration.hours(23);

/**
 * The hub's run: ListTargets (hub-run list: the overlap guard, then the account-region items written
 * to S3) → OverlapGuard (a later run stops there) → Map DISTRIBUTED over the account-regions, read by
 * an S3 ItemReader (one child execution each, every failure tolerated, results written to S3 by a
 * ResultWriter) → loop calling hub-item until `done` (EC2-page slices of a check, continuations of a
 * remediation) → Summarize (hub-run reads the written results). Neither the items nor the results
 * sit in the execution state (≤ 256 KB), so the organization's size is bounded by AWS's Map limits only.
 * One account-region never fails the run: hub-item answers failures as data, and a Lambda error or
 * a loop past its bound is caught inside the item and turned into a `failed` result.
 */
export class OrgStateMachine extends Construct {
  /** The state machine the schedules start with `{ "mode": "check" | "remediate" }`. */
  public readonly stateMachine: sfn.StateMachine;
  /** Its execution log group (level ALL). */
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: OrgStateMachineProps) {
    super(scope, id);
    // ResultWriterV2 renders (and grants its S3 writes) only under this flag; set on this construct, before its children, it changes nothing else of the app.
    this.node.setContext(STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    const stack = Stack.of(this);
    const stateMachineName = Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });

    const list = tasks.LambdaInvoke.jsonPath(this, 'ListTargets', {
      lambdaFunction: props.runHandler,
      payload: sfn.TaskInput.fromObject({
        action: 'list',
        mode: sfn.JsonPath.stringAt('$.mode'),
        // A launch run (remediateOnLaunch) names its account-region and instances beside the mode.
        input: sfn.JsonPath.entirePayload,
        execution: {
          executionArn: sfn.JsonPath.stringAt('$$.Execution.Id'),
          name: sfn.JsonPath.stringAt('$$.Execution.Name'),
          startTime: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
          stateMachineArn: sfn.JsonPath.stringAt('$$.StateMachine.Id'),
        },
      }),
      // Small whatever the organization: mode, regions, OU failures, the overlap verdict and the items' S3 key.
      payloadResponseOnly: true,
      resultPath: '$.listing',
      retryOnServiceExceptions: true,
    });
    // The guard reads this state machine's RUNNING executions. Its ARN from its name: a reference to
    // the state machine would make the function's policy depend on the machine that invokes it.
    props.runHandler.addToRolePolicy(
      new PolicyStatement({
        sid: 'OverlapGuard',
        actions: ['states:ListExecutions'],
        resources: [stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );

    // ---- one account-region: the slice / continuation loop ----
    const item = (p: string) => sfn.JsonPath.stringAt(`$.${p}`);
    const init = sfn.Pass.jsonPath(this, 'InitItem', {
      comment: 'Loop state: invocation counter and the first request of this account-region.',
      parameters: {
        iteration: 0,
        // target: the item as listed (a launch run's carries its instances); only the first request needs it, a continuation carries its scope.
        request: { accountId: item('accountId'), region: item('region'), mode: item('mode'), slices: 0, target: sfn.JsonPath.objectAt('$.target') },
      },
    });
    const invoke = tasks.LambdaInvoke.jsonPath(this, 'CheckOrRemediateItem', {
      lambdaFunction: props.itemHandler,
      payload: sfn.TaskInput.fromJsonPathAt('$.request'),
      resultSelector: { response: sfn.JsonPath.objectAt('$.Payload') },
      resultPath: '$.result',
      retryOnServiceExceptions: true,
    });
    invoke.addRetry({ errors: ['Lambda.TooManyRequestsException'], interval: Duration.seconds(30), maxAttempts: 6, backoffRate: 2 });
    const failedItem = (stateId: string, reason: string, detail: string) =>
      sfn.Pass.jsonPath(this, stateId, {
        parameters: {
          accountId: sfn.JsonPath.stringAt('$.request.accountId'),
          region: sfn.JsonPath.stringAt('$.request.region'),
          mode: sfn.JsonPath.stringAt('$.request.mode'),
          status: 'failed',
          reason,
          detail: detail.startsWith('$') ? sfn.JsonPath.stringAt(detail) : detail,
          done: true,
        },
      });
    invoke.addCatch(failedItem('ItemFailed', 'error', '$.error.Cause'), { errors: ['States.ALL'], resultPath: '$.error' });
    const next = sfn.Pass.jsonPath(this, 'NextSlice', {
      comment: 'The next slice (EC2 page token) or continuation of the same account-region, with the counts so far.',
      parameters: {
        iteration: sfn.JsonPath.stringAt('States.MathAdd($.iteration, 1)'),
        request: {
          accountId: item('result.response.accountId'),
          region: item('result.response.region'),
          mode: item('result.response.mode'),
          sliceToken: item('result.response.sliceToken'),
          continuation: item('result.response.continuation'),
          carry: sfn.JsonPath.objectAt('$.result.response.counts'),
          slices: sfn.JsonPath.numberAt('$.result.response.slices'),
        },
      },
    });
    const itemDone = new sfn.Succeed(this, 'ItemDone', { outputPath: '$.result.response' });
    const loop = init.next(invoke).next(
      new sfn.Choice(this, 'ItemIsDone')
        .when(sfn.Condition.booleanEquals('$.result.response.done', true), itemDone)
        .when(
          sfn.Condition.numberGreaterThanEquals('$.iteration', props.maxItemInvocations - 1),
          failedItem('TooManyInvocations', 'error', `not done after ${props.maxItemInvocations} invocations`),
        )
        .otherwise(next.next(invoke)),
    );

    const accountRegions = sfn.DistributedMap.jsonPath(this, 'AccountRegions', {
      comment: 'Every account-region of the item list (S3) as a child execution; a failed one is tolerated (it is data in the summary). Results go to S3.',
      itemReader: new sfn.S3JsonItemReader({ bucket: props.runBucket, key: sfn.JsonPath.stringAt('$.listing.itemsKey') }),
      itemSelector: {
        accountId: sfn.JsonPath.stringAt('$$.Map.Item.Value.accountId'),
        region: sfn.JsonPath.stringAt('$$.Map.Item.Value.region'),
        mode: item('listing.mode'),
        target: sfn.JsonPath.objectAt('$$.Map.Item.Value'),
      },
      resultWriterV2: new sfn.ResultWriterV2({ bucket: props.runBucket, prefix: HUB_RUN_PREFIX }),
      maxConcurrency: props.maxConcurrency,
      toleratedFailurePercentage: 100,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      resultPath: '$.results',
      label: 'AccountRegions',
    });
    accountRegions.itemProcessor(loop);

    const summarize = tasks.LambdaInvoke.jsonPath(this, 'Summarize', {
      lambdaFunction: props.runHandler,
      payload: sfn.TaskInput.fromObject({ action: 'summarize', listing: sfn.JsonPath.objectAt('$.listing'), results: sfn.JsonPath.objectAt('$.results') }),
      resultSelector: { summary: sfn.JsonPath.objectAt('$.Payload') },
      outputPath: '$.summary',
      retryOnServiceExceptions: true,
    });

    ({ stateMachine: this.stateMachine, logGroup: this.logGroup } = loggedStateMachine(this, {
      stateMachineName,
      definition: list.next(
        new sfn.Choice(this, 'OverlapGuard')
          .when(
            sfn.Condition.and(sfn.Condition.isPresent('$.listing.overlap'), sfn.Condition.isNotNull('$.listing.overlap')),
            new sfn.Succeed(this, 'SkippedOverlap', { comment: 'An earlier run is still RUNNING: hub-run sent the audit event; this run stops.' }),
          )
          .otherwise(accountRegions.next(summarize)),
      ),
      timeout: ORG_RUN_TIMEOUT,
      logRetention: props.logRetention,
      invokes: [
        { fn: props.runHandler, what: 'the hub-run function' },
        { fn: props.itemHandler, what: 'the hub-item function' },
      ],
    }));

    // The distributed Map starts, describes and stops its own child executions: the policy CDK adds
    // names this machine's executions and map runs only (their ids are generated at run time).
    const mapPolicy = this.stateMachine.node.tryFindChild('DistributedMapPolicy');
    const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${stack.getLogicalId(this.stateMachine.node.defaultChild as CfnElement)}"}]}]}`;
    if (mapPolicy) {
      Validations.of(mapPolicy).acknowledge(
        { id: `AwsSolutions-IAM5[Resource::${executions}:*]`, reason: "The distributed Map describes and stops this state machine's own executions, whose names are generated at run time; no other state machine's executions match." },
        { id: `AwsSolutions-IAM5[Resource::${executions}/AccountRegions:*]`, reason: "The distributed Map's map runs (label AccountRegions) of this state machine's executions, generated at run time; nothing else matches." },
      );
    }
    // The ItemReader reads the run's item list and the ResultWriter writes the map run's results:
    // both under keys carrying execution and map run ids, in the hub's own run bucket only.
    const bucketId = stack.getLogicalId(props.runBucket.node.defaultChild as CfnElement);
    Validations.of(this.stateMachine.role.node.tryFindChild('DefaultPolicy') ?? this.stateMachine.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<${bucketId}>/*]`,
      reason: "The distributed Map's ItemReader (the run's item list) and ResultWriter (manifest and result files named by the map run id, generated at run time), in the hub's own run bucket and no other.",
    });
  }
}
