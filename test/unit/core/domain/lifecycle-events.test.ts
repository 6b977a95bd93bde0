import { readdirSync } from 'node:fs';
import qs from 'qs';
import { describe, expect, it } from 'vitest';
import {
  claimFromInstallEvent,
  claimFromInstallFrame,
  lifecycleEventName,
  lifecycleSchemas,
  uninstallClaimFromEvent,
} from '#shared/core/domain/lifecycle-events.js';
import { parseRequestBody } from '#shared/edge/form-body.js';
import { SAMPLES_DIR, sampleText } from '#test/helpers/builders/bitrix24-samples.js';

const FORM = 'application/x-www-form-urlencoded';

/** Every sample that is an event body or an install-frame body, by what it contains. */
function classify(name: string, text: string): 'event' | 'frame' | 'other' {
  if (name.startsWith('frame-open')) return 'frame';
  if (name.endsWith('.json')) {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && 'event' in value ? 'event' : 'other';
  }
  return /(^|&)event=/.test(text) ? 'event' : 'other';
}

/** The sample as the wire carries it: form bodies as they are, JSON renderings re-encoded with PHP brackets. */
function asFormBody(name: string, text: string): string {
  return name.endsWith('.json') ? qs.stringify(JSON.parse(text)) : text.trim();
}

const samples = readdirSync(SAMPLES_DIR)
  .filter((name) => name.endsWith('.json') || name.endsWith('.txt'))
  .map((name) => ({ name, text: sampleText(name) }))
  .map((sample) => ({ ...sample, kind: classify(sample.name, sample.text) }));

function checkEvent(body: unknown): void {
  const envelope = lifecycleSchemas().eventEnvelope.parse(body);
  const name = lifecycleEventName(envelope.event);
  if (name === 'ONAPPINSTALL' || name === 'ONAPPUPDATE') {
    const claim = claimFromInstallEvent(lifecycleSchemas().installEvent.parse(body), name, 0);
    expect(claim.refreshToken.length).toBeGreaterThan(0);
    expect(claim.applicationTokenHash).toMatch(/^[0-9a-f]{64}$/);
  }
  if (name === 'ONAPPUNINSTALL') {
    const request = uninstallClaimFromEvent(lifecycleSchemas().uninstallEvent.parse(body), 0);
    expect(request.clean).toBe(true);
  }
}

describe('lifecycle samples', () => {
  it('finds the event and frame samples', () => {
    // Assess
    expect(samples.filter((s) => s.kind === 'event').length).toBeGreaterThanOrEqual(9);
    expect(samples.filter((s) => s.kind === 'frame').length).toBe(2);
  });

  it.each(samples.filter((s) => s.kind === 'event'))('parses event sample $name as a form body', ({ name, text }) => {
    // Act
    const body = parseRequestBody({ body: asFormBody(name, text), contentType: FORM });

    // Assess
    checkEvent(body);
  });

  it.each(samples.filter((s) => s.kind === 'event' && s.name.endsWith('.json')))(
    'parses event sample $name as a JSON body',
    ({ text }) => {
      // Act
      const body = parseRequestBody({ body: text, contentType: 'application/json' });

      // Assess
      checkEvent(body);
    },
  );

  it('parses the 2024 frame POST body (no SERVER_ENDPOINT, no APPLICATION_TOKEN) and falls back to the default server', () => {
    // Prepare
    const sample = samples.find((s) => s.name === 'frame-open.body.form-urlencoded.sdk-fixture-2024.txt');

    // Act
    const body = lifecycleSchemas().installFrameBody.parse(
      parseRequestBody({ body: sample?.text.trim(), contentType: FORM }),
    );
    const claim = claimFromInstallFrame(body, 0, {
      defaultServerEndpoint: 'https://oauth.bitrix.info/rest/',
      allowedAuthServers: ['oauth.bitrix.info', 'oauth.bitrix24.tech'],
    });

    // Assess
    expect(body.PLACEMENT).toBe('DEFAULT');
    expect(body.AUTH_EXPIRES).toBe(3600);
    expect(claim.serverEndpoints).toEqual(['https://oauth.bitrix.info/rest/', 'https://oauth.bitrix24.tech/rest/']);
    expect(claim.applicationTokenHash).toBeUndefined();
  });

  it('parses the documented frame POST (body and query) and never takes APP_SID for the application token', () => {
    // Prepare
    const sample = samples.find((s) => s.name === 'frame-open.docs-en.json');
    const doc = JSON.parse(sample?.text ?? '{}') as { _post_body: unknown; _query_string: Record<string, string> };

    // Act
    const body = lifecycleSchemas().installFrameBody.parse(
      parseRequestBody({ body: qs.stringify(doc._post_body), contentType: FORM }),
    );
    const query = lifecycleSchemas().installFrameQuery.parse(doc._query_string);
    const claim = claimFromInstallFrame(body, 0, {
      defaultServerEndpoint: 'https://oauth.bitrix.info/rest/',
      allowedAuthServers: [],
    });

    // Assess
    expect(query.APP_SID).toBe('dd8cec11e347088fe87c44870a9f1dba');
    expect(claim.serverEndpoints).toEqual(['https://oauth.bitrix.info/rest/']);
    expect(claim.applicationTokenHash).toBeDefined();
    expect(JSON.stringify(claim)).not.toContain(query.APP_SID);
    expect(JSON.stringify(claim)).not.toContain('ec1b2074a9d3f5c81b6e40d27a95cf38');
  });
});
