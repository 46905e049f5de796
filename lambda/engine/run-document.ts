/**
 * A document run whose targets are all known up front: the streaming session with every id added at
 * once. The engines have one Run Command path (a session); this is its one-shot form.
 */
import type { RunCommandPort, RunDocumentRequest, RunDocumentResult } from './ports';

/** Runs one document on `request.instanceIds` through a session; one result per instance. */
export function runDocument(port: RunCommandPort, request: RunDocumentRequest): Promise<RunDocumentResult> {
  const { instanceIds, ...rest } = request;
  const session = port.startSession(rest);
  session.add(instanceIds);
  return session.finish();
}
