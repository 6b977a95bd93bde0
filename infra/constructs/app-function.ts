import { basename, extname, join } from 'node:path';
import { Duration, RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** The repository root: entries, `package-lock.json` and `tsconfig.json` are resolved from here. */
export const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

/**
 * Lets esbuild's ESM output load the CommonJS dependencies we bundle (qs → side-channel → object-inspect
 * call `require('util')`); without it they fail at run time with "Dynamic require of "util" is not supported".
 */
const ESM_REQUIRE_BANNER = "import { createRequire } from 'module';const require = createRequire(import.meta.url);";

/** Who invokes a function: the HTTP API, EventBridge Scheduler (asynchronously), or a caller directly. */
export type InvokedBy = 'api' | 'schedule' | 'direct' | 'queue';

/** Why a function has no dead-letter queue, by who invokes it (cdk-nag Serverless-LambdaDLQ). */
const NO_DLQ_REASON: Readonly<Record<InvokedBy, string>> = {
  api:
    'Invoked synchronously by API Gateway: a dead-letter queue only receives failed asynchronous invocations; ' +
    'a failure here is an HTTP answer to Bitrix24 or the browser, and the function and API 5xx alarms catch it.',
  schedule:
    'Invoked asynchronously by EventBridge Scheduler; TokenRefreshSchedule gives it an on-failure destination ' +
    '(the alarmed dead-letters queue), which records request, response and error, so a DLQ would only duplicate it.',
  direct:
    'Invoked synchronously by its caller (the example consumer), which gets the error; a caller that invokes it ' +
    'asynchronously configures its own destination.',
  queue:
    'Invoked synchronously by an SQS event source mapping: a message that keeps failing moves to the dead-letter ' +
    'queue of its source queue (the redrive policy, alarmed); a function DLQ would never receive anything.',
};

export interface AppFunctionProps {
  /** Entry file, relative to the project root, e.g. `functions/oauth-start.ts`. */
  readonly entry: string;
  /** What the function does (shown in the console). @default - none */
  readonly description?: string;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** Extra environment on top of the house defaults. @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** `POWERTOOLS_SERVICE_NAME`. @default 'bitrix24-token-service' */
  readonly serviceName?: string;
  /** `POWERTOOLS_LOG_LEVEL`. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** `POWERTOOLS_METRICS_NAMESPACE` of the custom metrics. @default - no namespace variable */
  readonly metricsNamespace?: string;
  /** Retention of the function's own log group. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * `component` tag of the function, its role and its log group. @default the entry's file name
   * (`oauth-start`)
   */
  readonly component?: string;
  /** Who invokes it (decides why it has no dead-letter queue). @default 'api' */
  readonly invokedBy?: InvokedBy;
  /** Bundling root and lock file. @default PROJECT_ROOT */
  readonly projectRoot?: string;
}

/**
 * A `NodejsFunction` with the house defaults: Node 24 on arm64, ESM bundled locally by esbuild (no
 * Docker) with the AWS SDK version the tests ran against, minified with source maps and kept names
 * (error classes are matched by name), its own log group with a retention, and the Powertools
 * variables.
 *
 * @example
 * const fn = new AppFunction(this, 'OAuthStart', { entry: 'functions/oauth-start.ts' });
 */
export class AppFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Logs hold no tokens (the logger never writes them); they may go with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Instead of AWSLambdaBasicExecutionRole (logs on every log group of the account): write access to
    // this function's own log group only.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      entry: join(projectRoot, props.entry),
      handler: 'handler',
      description: props.description,
      // Node 24: the newest Lambda runtime (cdk-nag AwsSolutions-L1) and the version the tests run on.
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(10),
      memorySize: props.memorySize ?? 256,
      logGroup,
      role,
      // Set explicitly: the lock file is not found from a nested entry otherwise.
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      // Only for AWS SDK v2; v3 keeps connections alive by default.
      awsSdkConnectionReuse: false,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'bitrix24-token-service',
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        ...(props.metricsNamespace === undefined ? {} : { POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace }),
        ...props.environment,
      },
      bundling: {
        // The locally installed esbuild; no Docker image is pulled.
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        // Emitted for reading stack traces, not applied at run time: `--enable-source-maps` costs a
        // fifth of the cold start (docs/BENCHMARKS.md).
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        // No `keepNames`: it adds a sixth to every bundle, and nothing reads a minified name (every
        // error class sets its `name`; the SDK names its errors from the wire).
        // Bundle the AWS SDK we tested instead of the runtime's copy (default would be ['@aws-sdk/*']).
        externalModules: [],
        // A function's credentials are in its environment: the SDK's whole default chain stays out of
        // the bundle (shared/runtime/lambda-credentials.ts says why).
        esbuildArgs: {
          '--alias:@aws-sdk/credential-provider-node': join(projectRoot, 'shared', 'runtime', 'lambda-credentials.ts'),
        },
      },
    });
    // The role and the log group live beside the function (siblings in the tree): tagged here too.
    const component = props.component ?? basename(props.entry, extname(props.entry));
    for (const resource of [this, role, logGroup]) Tags.of(resource).add('component', component);
    Validations.of(this).acknowledge({ id: 'Serverless-LambdaDLQ', reason: NO_DLQ_REASON[props.invokedBy ?? 'api'] });
    Validations.of(this).acknowledge({
      id: 'Serverless-LambdaTracing',
      reason:
        'No X-Ray: the functions are short and log one structured line per outcome with the request id, and the ' +
        'Powertools metrics and alarms cover their health; active tracing would also need xray:PutTraceSegments on ' +
        'Resource *, which this stack grants to no role (test/infra/stack.test.ts).',
    });
  }
}
