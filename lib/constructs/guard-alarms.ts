import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CHECK_METRICS, METRIC_DIMENSIONS, REMEDIATION_METRICS, URGENT_METRICS } from '../../lambda/core/fleet/metric-names';
import { IMDSV2_METRICS } from '../../lambda/core/imdsv2/metrics';

/** Props of {@link GuardAlarms}. */
export interface GuardAlarmsProps {
  /** Namespace of the fleet metrics. */
  readonly metricNamespace: string;
  /** Interval between checks: the period of every check-metric alarm; the heartbeat window is twice it. */
  readonly checkInterval: Duration;
  /** InstancesNotChecked alarms above this count. */
  readonly notCheckedThreshold: number;
  /** Window of the RemediationCompleted heartbeat; undefined = no remediation heartbeat (schedule disabled). */
  readonly remediationHeartbeatWindow?: Duration;
  /** Receives every alarm's ALARM and OK notifications. */
  readonly topic: ITopic;
  /** Its Errors are alarmed. */
  readonly checkFunction: IFunction;
  /** Its failed executions are alarmed (a remediate Lambda that fails after its retries fails the execution). */
  readonly stateMachine: IStateMachine;
  /**
   * The IMDSv2 readiness/enforcement is on (`imdsv2` not `off`): alarm on rejected IMDSv1 calls
   * after an enforcement.
   * @default false
   */
  readonly imdsv2?: boolean;
  /**
   * The check may undo an enforcement (`imdsv2: 'enforce'` with `imdsv2AutoUndo`): alarm on an
   * automatic rollback. Without it no rollback can happen (the engine does not decide one and IAM
   * grants no role `HttpTokens=optional`), so an alarm on one could never fire and would still cost
   * $0.10 a month.
   * @default false
   */
  readonly imdsv2AutoUndo?: boolean;
  /**
   * The urgent path is live (docs/remediation.md): alarm on a host urgent again within 24 h of its urgent fix.
   * @default false
   */
  readonly urgent?: boolean;
}

/** Every alarm of the guard, by a stable key (also used in tests, docs and the dashboard). */
export interface GuardAlarmSet {
  readonly notOnAmazonTimeSync: cw.Alarm;
  readonly notSynchronized: cw.Alarm;
  readonly clockErrorBoundOverThreshold: cw.Alarm;
  readonly hopLimitTooLowForContainers: cw.Alarm;
  readonly metadataEndpointDisabled: cw.Alarm;
  /** The ENA driver dropped link-local packets (IMDS, DNS, NTP) on some instance since its boot. */
  readonly linkLocalPacketsDropped: cw.Alarm;
  readonly instancesNotChecked: cw.Alarm;
  readonly checkHeartbeat: cw.Alarm;
  readonly checkErrors: cw.Alarm;
  readonly remediationExecutionsFailed: cw.Alarm;
  /** Only when the remediation schedule is enabled. */
  readonly remediationHeartbeat?: cw.Alarm;
  /** An IMDSv2-enforced instance was rolled back to optional (docs/imdsv2.md); only with `imdsv2: 'enforce'` and `imdsv2AutoUndo`. */
  readonly imdsv2RolledBack?: cw.Alarm;
  /** IMDSv1 calls were rejected on an instance this deployment enforced (docs/imdsv2.md); only when `imdsv2` is not `off`. */
  readonly imdsv2Rejected?: cw.Alarm;
  /** A host the urgent path took is urgent again within 24 h (left to the nightly run); only with the urgent path live. */
  readonly urgentRepeat?: cw.Alarm;
  /** SSM coverage below `coverageAlarmPercent` (docs/coverage.md): made by the guard's FleetCoverage, listed here so every alarm of a guard is in one set. */
  readonly ssmCoverage?: cw.Alarm;
}

/**
 * Alarms to the topic (alarm and OK actions).
 *
 * Each alarm costs $0.10 a month per metric it reads, whatever the fleet size, so the set is the
 * smallest that still tells every failure: one per finding, the instances not checked, both
 * heartbeats and the two places a run can fail. Left out on purpose, because another alarm already
 * fires for the same event: the remediate Lambda's Errors (a Lambda that fails after the state
 * machine's retries fails the execution), executions timed out (the 23 h run timeout also leaves
 * the remediation heartbeat empty) or aborted (a person did it), messages in the schedules'
 * dead-letter queue (the heartbeat of that schedule fires), and RemediationFailed (every night's
 * summary on the topic names each failed action and why).
 */
export class GuardAlarms extends Construct {
  /** Every alarm, by key. */
  public readonly alarms: GuardAlarmSet;
  /** Fleet metric of this guard (namespace + the single `service` dimension). */
  public readonly metric: (name: string, statistic: string, period: Duration) => cw.Metric;

  constructor(scope: Construct, id: string, props: GuardAlarmsProps) {
    super(scope, id);
    const action = new SnsAction(props.topic);
    this.metric = (metricName, statistic, period) =>
      new cw.Metric({ namespace: props.metricNamespace, metricName, dimensionsMap: { ...METRIC_DIMENSIONS }, statistic, period });

    const alarm = (
      alarmId: string,
      metric: cw.IMetric,
      threshold: number,
      comparisonOperator: cw.ComparisonOperator,
      treatMissingData: cw.TreatMissingData,
      description: string,
      periods = 1,
    ): cw.Alarm => {
      const a = new cw.Alarm(this, alarmId, {
        metric,
        threshold,
        comparisonOperator,
        treatMissingData,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        alarmDescription: `timesync-guard: ${description}`,
      });
      a.addAlarmAction(action);
      a.addOkAction(action);
      return a;
    };

    // Finding counts are emitted on every check; silence is the heartbeat's business, so missing
    // data here is not breaching (else one missed run would fire every alarm at once).
    const finding = (alarmId: string, metricName: string, threshold: number, description: string, periods = 1): cw.Alarm =>
      alarm(
        alarmId,
        this.metric(metricName, cw.Stats.MAXIMUM, props.checkInterval),
        threshold,
        cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        cw.TreatMissingData.NOT_BREACHING,
        description,
        periods,
      );
    const GTE = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    const notBreaching = cw.TreatMissingData.NOT_BREACHING;
    const hour = Duration.hours(1);

    this.alarms = {
      notOnAmazonTimeSync: finding('NotOnAmazonTimeSync', CHECK_METRICS.notOnAmazonTimeSync, 0, 'instances whose clock is not synchronised to the Amazon Time Sync Service'),
      notSynchronized: finding('NotSynchronized', CHECK_METRICS.notSynchronized, 0, 'instances whose clock is not synchronised at all'),
      clockErrorBoundOverThreshold: finding('ClockErrorBoundOverThreshold', CHECK_METRICS.clockErrorBoundOverThreshold, 0, 'instances whose clock offset or clock error bound is over its threshold'),
      hopLimitTooLowForContainers: finding('HopLimitTooLowForContainers', CHECK_METRICS.hopLimitTooLowForContainers, 0, 'instances running containers with an IMDS PUT response hop limit below 2 (no role credentials in containers)'),
      metadataEndpointDisabled: finding('MetadataEndpointDisabled', CHECK_METRICS.metadataEndpointDisabled, 0, 'instances with an instance profile whose metadata endpoint is disabled'),
      linkLocalPacketsDropped: finding('LinkLocalPacketsDropped', CHECK_METRICS.linkLocalPacketsDropped, 0, 'instances whose ENA driver dropped link-local packets (IMDS, DNS, NTP) over the 1,024 packets/s allowance since boot'),
      // Two checks in a row: one slow run (guests cut off as stragglers, a busy SSM) must not page;
      // an instance that stays unchecked does, one check interval later.
      instancesNotChecked: finding(
        'InstancesNotChecked',
        CHECK_METRICS.instancesNotChecked,
        props.notCheckedThreshold,
        'instances that could not be checked (unmanaged, SSM offline, command failed or timed out) in two checks in a row',
        2,
      ),
      checkHeartbeat: alarm(
        'CheckHeartbeat',
        // InstancesSeen is emitted (even as 0) once per completed run: its SampleCount is the heartbeat.
        this.metric(CHECK_METRICS.instancesSeen, cw.Stats.SAMPLE_COUNT, props.checkInterval.plus(props.checkInterval)),
        1,
        cw.ComparisonOperator.LESS_THAN_THRESHOLD,
        cw.TreatMissingData.BREACHING,
        'the fleet check has not completed within two check intervals',
      ),
      checkErrors: alarm('CheckErrors', props.checkFunction.metricErrors({ period: props.checkInterval, statistic: cw.Stats.SUM }), 1, GTE, notBreaching, 'the check Lambda failed'),
      remediationExecutionsFailed: alarm(
        'RemediationExecutionsFailed',
        props.stateMachine.metricFailed({ period: hour, statistic: cw.Stats.SUM }),
        1,
        GTE,
        notBreaching,
        'a remediation run (state machine execution) failed',
      ),
      remediationHeartbeat:
        props.remediationHeartbeatWindow === undefined
          ? undefined
          : alarm(
              'RemediationHeartbeat',
              this.metric(REMEDIATION_METRICS.remediationCompleted, cw.Stats.SUM, props.remediationHeartbeatWindow),
              1,
              cw.ComparisonOperator.LESS_THAN_THRESHOLD,
              cw.TreatMissingData.BREACHING,
              'no remediation run completed within the remediation heartbeat window',
            ),
      // A rollback is the gate working, but someone must learn which workload still needs IMDSv1.
      imdsv2RolledBack: props.imdsv2 && props.imdsv2AutoUndo
        ? alarm(
            'Imdsv2RolledBack',
            this.metric(IMDSV2_METRICS.rolledBack, cw.Stats.SUM, props.checkInterval),
            0,
            cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            notBreaching,
            'an instance switched to IMDSv2-only had IMDSv1 calls rejected and was rolled back to HttpTokens=optional',
          )
        : undefined,
      // Not undone by default: a rejected call is a workload still on IMDSv1, or someone probing for it.
      imdsv2Rejected: props.imdsv2
        ? alarm(
            'Imdsv2Rejected',
            this.metric(IMDSV2_METRICS.rejected, cw.Stats.MAXIMUM, props.checkInterval),
            0,
            cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            notBreaching,
            'IMDSv1 calls were rejected on an instance the guard switched to IMDSv2-only (a workload still on IMDSv1, or an SSRF probe): see the runbook in docs/imdsv2.md',
          )
        : undefined,
      // Not retried by the urgent path (no fight with whatever pushes the clock or the hop limit back): someone must look.
      urgentRepeat: props.urgent
        ? alarm(
            'UrgentRepeat',
            this.metric(URGENT_METRICS.repeat, cw.Stats.MAXIMUM, props.checkInterval),
            0,
            cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            notBreaching,
            'a host the urgent path fixed is urgent again within 24 h (something keeps undoing the fix); the nightly run takes it, the urgent path does not retry: see docs/operations.md',
          )
        : undefined,
    };
  }

  /** The alarms as a list (omitting the ones not created). */
  public list(): cw.Alarm[] {
    return Object.values(this.alarms).filter((a): a is cw.Alarm => a !== undefined);
  }
}
