/** Loaded on first use (../lazy-adapters.ts): the EventBridge audit of a rollback. */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { type AuditSink, createEventBridgeAudit, type EventBridgeAuditOptions } from '../audit';
import { createClient } from '../client-factory';

export function eventBridgeAudit(options: Omit<EventBridgeAuditOptions, 'events'>): AuditSink {
  return createEventBridgeAudit({ ...options, events: createClient(EventBridgeClient, 'eventbridge') });
}
