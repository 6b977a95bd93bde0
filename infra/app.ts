import { App } from 'aws-cdk-lib';
import { BitrixTokenStack, type BitrixTokenStackProps } from './bitrix-token-stack.js';
import { ROUTES } from './constructs/oauth-http-api.js';
import type { Settings } from './function-catalog.js';
import { addNagChecks } from './nag.js';

/**
 * `npx cdk synth|deploy`: one App, one environment-agnostic stack (synthesizes without an AWS
 * account; the account and region come from the CLI profile at deploy time).
 *
 * Options as context, in cdk.json or `-c key=value`: `clientId`, `settings` (JSON object of
 * shared/runtime/config.ts values), `existingCredentialsSecret`, `notificationEmail`, `notificationTopic`
 * (false to skip the topic), `routeThrottles` (JSON: `{"events": {"rateLimit": 300, "burstLimit": 600}}`),
 * `domainName` + `certificateArn` (a custom domain) with optional `hostedZoneId` + `hostedZoneName`,
 * `exampleConsumer` (true to deploy functions/example-consumer.ts), `consumerParameterPrefix` (SSM prefix
 * of what consumers in other apps read).
 */
const app = new App();
addNagChecks(app);
new BitrixTokenStack(app, 'Bitrix24TokenService', propsFromContext(app));
app.synth();

function propsFromContext(scope: App): BitrixTokenStackProps {
  const text = (key: string): string | undefined => {
    const value: unknown = scope.node.tryGetContext(key);
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  };
  const flag = (key: string): boolean | undefined => {
    const value: unknown = scope.node.tryGetContext(key);
    if (value === true || value === 'true') return true;
    return value === false || value === 'false' ? false : undefined;
  };
  return {
    clientId: text('clientId'),
    settings: settingsFromContext(scope.node.tryGetContext('settings')),
    existingCredentialsSecret: text('existingCredentialsSecret'),
    notificationEmail: text('notificationEmail'),
    notificationTopic: flag('notificationTopic') === false ? false : undefined,
    routeThrottles: routeThrottlesFromContext(scope.node.tryGetContext('routeThrottles')),
    domainName: text('domainName'),
    certificateArn: text('certificateArn'),
    hostedZone: hostedZoneFromContext(text('hostedZoneId'), text('hostedZoneName')),
    exampleConsumer: flag('exampleConsumer') === true,
    consumerParameterPrefix: text('consumerParameterPrefix'),
  };
}

function hostedZoneFromContext(id: string | undefined, name: string | undefined): BitrixTokenStackProps['hostedZone'] {
  if (id === undefined && name === undefined) return undefined;
  if (id === undefined || name === undefined) throw new Error('give both hostedZoneId and hostedZoneName, or neither');
  return { id, name };
}

/** `-c routeThrottles='{"events":{"rateLimit":300,"burstLimit":600}}'`, or the same object in cdk.json. */
function routeThrottlesFromContext(value: unknown): BitrixTokenStackProps['routeThrottles'] {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (parsed === undefined || parsed === null) return undefined;
  const routes = Object.keys(ROUTES);
  const isThrottle = (t: unknown) =>
    typeof t === 'object' &&
    t !== null &&
    Object.values(t).length === 2 &&
    ['rateLimit', 'burstLimit'].every((key) => Number.isFinite((t as Record<string, unknown>)[key]));
  if (
    typeof parsed !== 'object' ||
    Array.isArray(parsed) ||
    !Object.entries(parsed).every(([route, throttle]) => routes.includes(route) && isThrottle(throttle))
  ) {
    throw new Error(`context "routeThrottles" must map ${routes.join(', ')} to {"rateLimit": n, "burstLimit": n}`);
  }
  return parsed as BitrixTokenStackProps['routeThrottles'];
}

/** `-c settings='{"DUE_SHARDS":"8"}'` arrives as a string; cdk.json gives an object. Values become strings. */
function settingsFromContext(value: unknown): Settings {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (parsed === undefined || parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('context "settings" must be a JSON object');
  return Object.fromEntries(Object.entries(parsed).map(([name, setting]) => [name, String(setting)]));
}
