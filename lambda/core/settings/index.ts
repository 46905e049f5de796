/**
 * The typed settings that cross the seam from the CDK construct (which writes environment
 * variables) to the Lambda handlers and the CLI (which parse them once, at cold start).
 * `schema.ts` is the one table; `parse.ts` reads values by it; `schedule.ts` judges schedule
 * expressions as EventBridge Scheduler does. `lib/` imports these pure modules, never the SDK.
 */
export * from './schema';
export * from './parse';
export * from './schedule';
