import { Logger } from '@aws-lambda-powertools/logger';

/**
 * A Powertools logger as the functions get one, at the level of `POWERTOOLS_LOG_LEVEL` (the test setup
 * makes it SILENT) unless `logLevel` says otherwise.
 */
export function powertoolsLogger(logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT'): Logger {
  return new Logger({ serviceName: 'bitrix24-token-service', ...(logLevel === undefined ? {} : { logLevel }) });
}
