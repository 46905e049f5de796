/**
 * Environment of a benchmark process, set before any SDK or Powertools module loads: nothing may
 * leave the machine (dummy credentials, no instance metadata), and Powertools must print what the
 * benchmark captures (INFO logs, EMF metrics on) instead of what a test setup silences.
 */
process.env['AWS_REGION'] ??= 'us-east-1';
process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
process.env['AWS_ACCESS_KEY_ID'] ??= 'AKIDBENCHMARK';
process.env['AWS_SECRET_ACCESS_KEY'] ??= 'benchmark-secret';
process.env['POWERTOOLS_LOG_LEVEL'] = 'INFO';
delete process.env['POWERTOOLS_DEV'];
delete process.env['POWERTOOLS_METRICS_DISABLED'];
// The SDK's notice about Node.js versions is not part of any measurement.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

export {};
