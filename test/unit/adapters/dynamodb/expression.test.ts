import { describe, expect, it } from 'vitest';
import {
  attributeIs,
  itemAbsent,
  itemExists,
  leaseFree,
  versionIs,
  WriteExpression,
} from '#shared/adapters/dynamodb/expression.js';

describe('WriteExpression', () => {
  it('builds SET and REMOVE clauses, an ANDed condition and the placeholders they use', () => {
    // Act
    const write = new WriteExpression()
      .set('status', 'active')
      .set('lastFailure', undefined)
      .remove('leaseUntil')
      .incrementVersion()
      .when(itemExists, versionIs(3), attributeIs('refreshToken', 'spent'));

    // Assess
    expect(write.update()).toEqual({
      UpdateExpression: 'SET #status = :status, #version = #version + :one REMOVE #lastFailure, #leaseUntil',
      ConditionExpression: 'attribute_exists(#pk) AND #version = :expectedVersion AND #refreshToken = :refreshTokenWas',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#lastFailure': 'lastFailure',
        '#leaseUntil': 'leaseUntil',
        '#version': 'version',
        '#pk': 'pk',
        '#refreshToken': 'refreshToken',
      },
      ExpressionAttributeValues: { ':status': 'active', ':one': 1, ':expectedVersion': 3, ':refreshTokenWas': 'spent' },
    });
  });

  it('gives a put or delete only the condition, and no values map when none is used', () => {
    // Act
    const create = new WriteExpression().when(itemAbsent).condition();
    const leased = new WriteExpression().when(leaseFree(10)).condition();

    // Assess
    expect(create).toEqual({
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'pk' },
    });
    expect(leased.ConditionExpression).toBe('(attribute_not_exists(#leaseUntil) OR #leaseUntil <= :now)');
    expect(leased.ExpressionAttributeValues).toEqual({ ':now': 10 });
  });
});
