import type * as z from 'zod/mini';
import { ClaimNotSavedError, ValidationError } from '#shared/core/domain/errors.js';
import {
  claimFromInstallEvent,
  lifecycleEventName,
  lifecycleSchemas,
  uninstallClaimFromEvent,
} from '#shared/core/domain/lifecycle-events.js';
import { METRIC_NAMES } from '#shared/core/ports/metrics.js';
import { NOTIFICATION_REASONS } from '#shared/core/ports/notification-publisher.js';
import type { InstallClaimDeps } from './finish-install-claim.js';
import { notifyAboutClaim } from './notify-operators.js';
import { type AcceptOutcome, acceptInstallClaim } from './register-installation.js';
import { type UninstallOutcome, type UninstallPortalDeps, uninstallPortal } from './uninstall-portal.js';

export type HandleAppEventDeps = InstallClaimDeps & UninstallPortalDeps;

export type AppEventOutcome =
  | { readonly event: 'ONAPPINSTALL' | 'ONAPPUPDATE'; readonly result: AcceptOutcome }
  | { readonly event: 'ONAPPUNINSTALL'; readonly result: UninstallOutcome }
  /** An event we do not act on: acknowledged and ignored. */
  | { readonly event: 'other'; readonly name: string };

/**
 * Validates an event body (already parsed from its form or JSON encoding) and dispatches on `event`,
 * case-insensitively. Throws `ValidationError` for a body that is not a well-formed event of its kind.
 *
 * @example
 * const outcome = await handleAppEvent(parsedBody(event), deps);
 */
export async function handleAppEvent(body: unknown, deps: HandleAppEventDeps): Promise<AppEventOutcome> {
  const envelope = parse(lifecycleSchemas().eventEnvelope, body, 'event');
  const receivedAt = deps.now();
  const name = lifecycleEventName(envelope.event);
  switch (name) {
    case 'ONAPPINSTALL':
    case 'ONAPPUPDATE': {
      const wire = parse(lifecycleSchemas().installEvent, body, name);
      const claim = claimFromInstallEvent(wire, name, receivedAt);
      try {
        return { event: name, result: await acceptInstallClaim(claim, deps) };
      } catch (error) {
        deps.metrics.count(METRIC_NAMES.installClaimUnsaved);
        // Nothing was spent, but Bitrix24 does not deliver the event again: the install did not arrive.
        await notifyAboutClaim(
          'install_lost',
          claim,
          { reason: NOTIFICATION_REASONS.claimUnsaved, at: deps.now() },
          deps,
        );
        throw new ClaimNotSavedError(claim.memberId, { cause: error });
      }
    }
    case 'ONAPPUNINSTALL': {
      const wire = parse(lifecycleSchemas().uninstallEvent, body, name);
      return { event: name, result: await uninstallPortal(uninstallClaimFromEvent(wire, receivedAt), deps) };
    }
    case undefined:
      return { event: 'other', name: envelope.event.toUpperCase() };
  }
}

/**
 * Parses with a schema; the error names the fields and what is wrong with them, never their values
 * (they may be tokens).
 */
export function parse<T extends z.ZodMiniType>(schema: T, body: unknown, what: string): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map((p) => String(p).slice(0, 40)).join('.') || '(body)'}: ${issue.code}`)
    .join('; ');
  throw new ValidationError(`malformed ${what} body: ${problems}`);
}
