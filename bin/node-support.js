// Which Node.js versions this install supports, from what its runtime dependencies declare, and
// the AWS SDK's Node-version notice. The SDK (from 3.9xx) prints a 9-line NodeVersionSupportWarning
// on every run under Node < 22, about SDK releases "published after the first week of January 2027".
// It speaks of future releases, not of the SDK installed here: while every installed package's own
// `engines` admits the running Node, the notice is silenced for the CLI; the day an installed
// release requires a newer Node, it is not (and package.json `engines` must follow: a test checks).
// Plain Node, no dependencies: the CLI shim loads it before anything else.
'use strict';

/** Packages whose declared Node support bounds ours: the SDK the CLI runs and the CDK the app runs on. */
const BOUNDING_PACKAGES = ['@aws-sdk/core', '@aws-sdk/client-ec2', '@aws-sdk/client-ssm', '@aws-sdk/client-cloudwatch', '@aws-sdk/credential-providers', 'aws-cdk-lib'];

/** The major of a `>=N…` range, or undefined for any other form. */
function minimumMajor(range) {
  const m = /^>=\s*(\d+)/.exec(String(range || '').trim());
  return m ? Number(m[1]) : undefined;
}

/** The oldest Node major every bounding package supports (the largest of their minimums). */
function supportedNodeMajor() {
  let major = 0;
  for (const name of BOUNDING_PACKAGES) {
    const min = minimumMajor(require(`${name}/package.json`).engines?.node);
    if (min === undefined) throw new Error(`${name}: engines.node is not a ">=N" range`);
    major = Math.max(major, min);
  }
  return major;
}

/**
 * Silences the SDK's notice when the installed packages support this Node; a value the user set
 * wins. Returns whether it was silenced.
 */
function quietSdkNodeNotice(env = process.env, nodeVersion = process.versions.node) {
  if (env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED !== undefined) return false;
  let supported;
  try {
    supported = Number(String(nodeVersion).split('.')[0]) >= supportedNodeMajor();
  } catch {
    return false;
  }
  if (supported) env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return supported;
}

module.exports = { BOUNDING_PACKAGES, minimumMajor, supportedNodeMajor, quietSdkNodeNotice };
