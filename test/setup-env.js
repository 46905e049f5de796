// Any SDK client that escapes its mock must fail fast here, never reach AWS or the metadata service.
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'AKIATESTTESTTESTTEST';
process.env.AWS_SECRET_ACCESS_KEY = 'test-secret-not-real';
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_DEV = 'false';
// The Windows guest tests start pwsh (.NET): without dynamic PGO its JIT spends ~15% less CPU on
// these short scripts (the same PowerShell, the same results), and the suite is CPU-bound.
process.env.DOTNET_TieredPGO ??= '0';
// aws-cdk-lib's built-in CloudFormation validation loads a WebAssembly engine at every synth (about
// 2.5 CPU-s a file, a third of the suite's CPU) and, without @aws-cdk/core:validateAgainstDefaultRules,
// only warns, which no test reads. test/lib/cfn-validation.test.ts runs it on every shipped
// configuration with its errors failing synth.
process.env.CDK_VALIDATION ??= 'false';
