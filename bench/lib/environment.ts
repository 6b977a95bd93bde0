/**
 * Process environment for the benchmark and chaos runners. Imported first (ES modules evaluate their
 * imports in order), so the logger, the metrics and every AWS client created at module load see it.
 *
 * Every AWS endpoint starts as a dead local address: a client that was not pointed at a local server
 * fails on this machine instead of reaching AWS. The runners set the real local endpoints once the
 * servers are up.
 */
const defaults: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
  AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9',
  AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://127.0.0.1:9',
  AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
};

for (const [name, value] of Object.entries(defaults)) {
  if (process.env[name] === undefined || process.env[name] === '') process.env[name] = value;
}

/** Lets `import './environment.js'` stand first in a runner. */
export const BENCH_ENVIRONMENT = Object.freeze({ ...defaults });
