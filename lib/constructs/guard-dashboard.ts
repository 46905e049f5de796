import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CHECK_METRICS, REMEDIATION_METRICS } from '../../lambda/core/metric-names';

/** Props of {@link GuardDashboard}. */
export interface GuardDashboardProps {
  /** Fleet metric factory (namespace + `service` dimension), from GuardAlarms. */
  readonly metric: (name: string, statistic: string, period: Duration) => cw.Metric;
  readonly checkInterval: Duration;
  readonly alarms: cw.IAlarm[];
  readonly checkFunction: IFunction;
  readonly remediateFunction: IFunction;
  readonly stateMachine: IStateMachine;
}

/** One CloudWatch dashboard: fleet counts, findings, clock error bound, remediation, Lambda health, alarm status. */
export class GuardDashboard extends Construct {
  public readonly dashboard: cw.Dashboard;

  constructor(scope: Construct, id: string, props: GuardDashboardProps) {
    super(scope, id);
    const p = props.checkInterval;
    const max = (name: string) => props.metric(name, cw.Stats.MAXIMUM, p);
    const sumDay = (name: string) => props.metric(name, cw.Stats.SUM, Duration.days(1));
    const graph = (title: string, left: cw.IMetric[], right: cw.IMetric[] = []) =>
      new cw.GraphWidget({ title, left, right, width: 12, height: 6 });

    this.dashboard = new cw.Dashboard(this, 'Resource', { defaultInterval: Duration.days(7) });
    this.dashboard.addWidgets(
      new cw.AlarmStatusWidget({ title: 'timesync-guard alarms', alarms: props.alarms, width: 24, height: 4 }),
    );
    this.dashboard.addWidgets(
      new cw.SingleValueWidget({
        title: 'Fleet (last check)',
        metrics: [
          max(CHECK_METRICS.instancesSeen),
          max(CHECK_METRICS.instancesChecked),
          max(CHECK_METRICS.instancesAtRisk),
          max(CHECK_METRICS.instancesNotChecked),
        ],
        width: 24,
        height: 4,
      }),
    );
    this.dashboard.addWidgets(
      graph('Fleet counts', [
        max(CHECK_METRICS.instancesSeen),
        max(CHECK_METRICS.instancesChecked),
        max(CHECK_METRICS.instancesAtRisk),
      ]),
      graph('Not checked', [
        max(CHECK_METRICS.instancesNotChecked),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Findings (instances)', [
        max(CHECK_METRICS.notOnAmazonTimeSync),
        max(CHECK_METRICS.notSynchronized),
        max(CHECK_METRICS.clockErrorBoundOverThreshold),
        max(CHECK_METRICS.hopLimitTooLowForContainers),
        max(CHECK_METRICS.metadataEndpointDisabled),
      ]),
      graph('Clock error bound (seconds)', [
        props.metric(CHECK_METRICS.clockErrorBoundSeconds, cw.Stats.MAXIMUM, p).with({ label: 'max' }),
        props.metric(CHECK_METRICS.clockErrorBoundSeconds, cw.Stats.p(99), p).with({ label: 'p99' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Remediation outcomes (per day)', [
        sumDay(REMEDIATION_METRICS.attempted),
        sumDay(REMEDIATION_METRICS.succeeded),
        sumDay(REMEDIATION_METRICS.failed),
        sumDay(REMEDIATION_METRICS.rolledBack),
        sumDay(REMEDIATION_METRICS.skipped),
      ], [sumDay(REMEDIATION_METRICS.remediationCompleted)]),
      graph('Remediation runs', [
        props.stateMachine.metricSucceeded({ period: Duration.days(1) }),
        props.stateMachine.metricFailed({ period: Duration.days(1) }),
        props.stateMachine.metricTimedOut({ period: Duration.days(1) }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Lambda errors', [
        props.checkFunction.metricErrors({ period: p, label: 'check errors' }),
        props.remediateFunction.metricErrors({ period: p, label: 'remediate errors' }),
      ], [props.metric(CHECK_METRICS.instancesSeen, cw.Stats.SAMPLE_COUNT, p).with({ label: 'checks completed' })]),
      graph('Lambda duration (max, ms)', [
        props.checkFunction.metricDuration({ period: p, statistic: cw.Stats.MAXIMUM, label: 'check' }),
        props.remediateFunction.metricDuration({ period: p, statistic: cw.Stats.MAXIMUM, label: 'remediate' }),
      ]),
    );
  }
}
