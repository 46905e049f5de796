import { type CfnElement, Duration, Names, Stack, Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
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
}

/** A run (1,000 accounts × slices, or a night's remediation) ends before the next night's one starts. */
export const ORG_RUN_TIMEOUT = Duration.hours(23);

/**
 * The hub's run: ListTargets (hub-run list) → Map DISTRIBUTED over the accounts (child executions,
 * every failure tolerated) → inline Map over that account's regions → loop calling hub-item until
 * `done` (EC2-page slices of a check, continuations of a remediation) → Summarize (hub-run).
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
    const stack = Stack.of(this);
    const stateMachineName = Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });

    const list = tasks.LambdaInvoke.jsonPath(this, 'ListTargets', {
      lambdaFunction: props.runHandler,
      payload: sfn.TaskInput.fromObject({ action: 'list', mode: sfn.JsonPath.stringAt('$.mode') }),
      resultSelector: {
        accounts: sfn.JsonPath.listAt('$.Payload.accounts'),
        regions: sfn.JsonPath.listAt('$.Payload.regions'),
        mode: sfn.JsonPath.stringAt('$.Payload.mode'),
        ouFailures: sfn.JsonPath.listAt('$.Payload.ouFailures'),
      },
      resultPath: '$.listing',
      retryOnServiceExceptions: true,
    });

    // ---- one account-region: the slice / continuation loop ----
    const item = (p: string) => sfn.JsonPath.stringAt(`$.${p}`);
    const init = sfn.Pass.jsonPath(this, 'InitItem', {
      comment: 'Loop state: invocation counter and the first request of this account-region.',
      parameters: {
        iteration: 0,
        request: { accountId: item('accountId'), region: item('region'), mode: item('mode'), slices: 0 },
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

    const regions = sfn.Map.jsonPath(this, 'Regions', {
      comment: "The account's regions, in parallel (each its own STS session and clients).",
      itemsPath: '$.regions',
      itemSelector: { accountId: item('accountId'), region: sfn.JsonPath.stringAt('$$.Map.Item.Value'), mode: item('mode') },
    });
    regions.itemProcessor(loop);

    const accounts = sfn.DistributedMap.jsonPath(this, 'Accounts', {
      comment: 'Every account of the listing as a child execution; a failed one is tolerated (it is data in the summary).',
      itemsPath: '$.listing.accounts',
      itemSelector: { accountId: sfn.JsonPath.stringAt('$$.Map.Item.Value'), regions: sfn.JsonPath.listAt('$.listing.regions'), mode: item('listing.mode') },
      maxConcurrency: props.maxConcurrency,
      toleratedFailurePercentage: 100,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      resultPath: '$.results',
      label: 'Accounts',
    });
    accounts.itemProcessor(regions);

    const summarize = tasks.LambdaInvoke.jsonPath(this, 'Summarize', {
      lambdaFunction: props.runHandler,
      payload: sfn.TaskInput.fromObject({ action: 'summarize', listing: sfn.JsonPath.objectAt('$.listing'), results: sfn.JsonPath.listAt('$.results') }),
      resultSelector: { summary: sfn.JsonPath.objectAt('$.Payload') },
      outputPath: '$.summary',
      retryOnServiceExceptions: true,
    });

    ({ stateMachine: this.stateMachine, logGroup: this.logGroup } = loggedStateMachine(this, {
      stateMachineName,
      definition: list.next(accounts).next(summarize),
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
        { id: `AwsSolutions-IAM5[Resource::${executions}/Accounts:*]`, reason: "The distributed Map's map runs (label Accounts) of this state machine's executions, generated at run time; nothing else matches." },
      );
    }
  }
}
