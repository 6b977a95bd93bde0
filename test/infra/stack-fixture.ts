import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { vi } from 'vitest';
import { BitrixTokenStack, type BitrixTokenStackProps } from '#infra/bitrix-token-stack.js';
import { addNagChecks } from '#infra/nag.js';

// The first synth in a test file loads most of aws-cdk-lib: tens of seconds on a busy two-core machine.
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

export interface BuiltStack {
  readonly app: App;
  readonly stack: BitrixTokenStack;
  readonly template: Template;
}

/**
 * The service stack as `infra/app.ts` builds it, synthesized. Bundling is skipped (the context
 * `aws:cdk:bundling-stacks: []`): esbuild runs in the one test that checks the bundles.
 */
export function buildStack(props: BitrixTokenStackProps = {}, options: BuildOptions = {}): BuiltStack {
  const { app, stack } = buildApp(props, options);
  return { app, stack, template: Template.fromStack(stack) };
}

export interface BuildOptions {
  /** Run esbuild. @default false */
  readonly bundle?: boolean;
  /** Add the cdk-nag checks (nag.test.ts and bundling.test.ts do; they cost seconds per synth). @default false */
  readonly nag?: boolean;
}

/** The app and stack, not synthesized yet (to add more constructs first). */
export function buildApp(
  props: BitrixTokenStackProps = {},
  options: BuildOptions = {},
): { app: App; stack: BitrixTokenStack } {
  const app = new App(options.bundle === true ? {} : { context: { 'aws:cdk:bundling-stacks': [] } });
  if (options.nag === true) addNagChecks(app);
  return { app, stack: new BitrixTokenStack(app, 'Bitrix24TokenService', props) };
}

/** Logical id of a construct's CloudFormation resource, e.g. of `stack.functions.refreshWorker`. */
export function logicalId(construct: IConstruct | undefined): string {
  const child = construct?.node.defaultChild;
  if (construct === undefined || child === undefined || typeof child !== 'object' || !('logicalId' in child)) {
    throw new Error('construct has no CloudFormation resource');
  }
  const resolved: unknown = Stack.of(construct).resolve(child.logicalId);
  if (typeof resolved !== 'string') throw new Error('logical id did not resolve to a string');
  return resolved;
}

/** `{ "Fn::GetAtt": [id, "Arn"] }` */
export function arnOf(id: string): { 'Fn::GetAtt': [string, string] } {
  return { 'Fn::GetAtt': [id, 'Arn'] };
}

/** IAM statements of the policies attached to `roleLogicalId`. */
export function statementsOfRole(template: Template, roleLogicalId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const statements: Statement[] = [];
  for (const policy of Object.values(policies)) {
    const roles: unknown = policy.Properties?.Roles;
    const attached =
      Array.isArray(roles) && roles.some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId }));
    if (attached) statements.push(...(policy.Properties.PolicyDocument.Statement as Statement[]));
  }
  return statements;
}

export interface Statement {
  readonly Action: string | string[];
  readonly Effect: string;
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}
