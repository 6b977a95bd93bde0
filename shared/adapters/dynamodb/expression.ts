/**
 * Builds the expressions of one conditional write: `SET`/`REMOVE` clauses, a condition made of named
 * fragments, and the attribute names and values they use. Every repository writes through it, so the
 * same condition reads the same everywhere ("the item exists", "the version is still N", "the lease is
 * ours").
 *
 * @example
 * const write = new WriteExpression().set('status', 'active').incrementVersion();
 * write.when(itemExists, versionIs(7));
 * await doc.send(new UpdateCommand({ TableName, Key, ...write.update() }));
 */
export class WriteExpression {
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  private readonly conditions: string[] = [];
  private readonly names: Record<string, string> = {};
  private readonly values: Record<string, unknown> = {};

  /** `#name = :name`; an undefined value removes the attribute instead. */
  set(name: string, value: unknown): this {
    if (value === undefined) return this.remove(name);
    this.sets.push(`${this.name(name)} = ${this.value(name, value)}`);
    return this;
  }

  remove(name: string): this {
    this.removes.push(this.name(name));
    return this;
  }

  /** `name = name + 1`, in the same write. */
  increment(name: string): this {
    this.sets.push(`${this.name(name)} = ${this.name(name)} + ${this.value('one', 1)}`);
    return this;
  }

  /** `version = version + 1`: every token write moves the optimistic-concurrency counter. */
  incrementVersion(): this {
    return this.increment('version');
  }

  /** ANDs condition fragments onto the write's condition. */
  when(...fragments: readonly ConditionFragment[]): this {
    for (const fragment of fragments) this.conditions.push(fragment(this));
    return this;
  }

  /** A placeholder for an attribute name (`#name`). */
  name(attribute: string): string {
    const placeholder = `#${attribute}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  /** A placeholder for a value (`:key`); one key means one value. */
  value(key: string, value: unknown): string {
    const placeholder = `:${key}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  /** The parameters of an `UpdateCommand`. */
  update(): {
    UpdateExpression: string;
    ConditionExpression?: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    const parts: string[] = [];
    if (this.sets.length > 0) parts.push(`SET ${this.sets.join(', ')}`);
    if (this.removes.length > 0) parts.push(`REMOVE ${this.removes.join(', ')}`);
    return { UpdateExpression: parts.join(' '), ...this.condition() };
  }

  /** The condition parameters of a `PutCommand` or `DeleteCommand` (none when nothing was required). */
  condition(): {
    ConditionExpression?: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    return {
      ...(this.conditions.length === 0 ? {} : { ConditionExpression: this.conditions.join(' AND ') }),
      ExpressionAttributeNames: { ...this.names },
      ...(Object.keys(this.values).length === 0 ? {} : { ExpressionAttributeValues: { ...this.values } }),
    };
  }
}

/** A named part of a write's condition. */
export type ConditionFragment = (write: WriteExpression) => string;

/** The item is there (an update must never create a token set out of thin air). */
export const itemExists: ConditionFragment = (w) => `attribute_exists(${w.name('pk')})`;

/** The item is not there yet (a create). */
export const itemAbsent: ConditionFragment = (w) => `attribute_not_exists(${w.name('pk')})`;

/** Optimistic concurrency: nobody wrote since we read `version`. */
export const versionIs =
  (version: number): ConditionFragment =>
  (w) =>
    `${w.name('version')} = ${w.value('expectedVersion', version)}`;

/** An attribute still holds the value we saw (the fence on the spent refresh token, a claim's due time). */
export const attributeIs =
  (attribute: string, value: unknown): ConditionFragment =>
  (w) =>
    `${w.name(attribute)} = ${w.value(`${attribute}Was`, value)}`;

/** Nobody holds the refresh lease at `now` (never taken, released, or expired). */
export const leaseFree =
  (now: number): ConditionFragment =>
  (w) =>
    `(attribute_not_exists(${w.name('leaseUntil')}) OR ${w.name('leaseUntil')} <= ${w.value('now', now)})`;

/** The lease is `owner`'s, or nobody's (released meanwhile by an expiry and not taken). */
export const leaseOwnedByOrFree =
  (owner: string): ConditionFragment =>
  (w) =>
    `(attribute_not_exists(${w.name('leaseOwner')}) OR ${w.name('leaseOwner')} = ${w.value('owner', owner)})`;

/** The lease is `owner`'s. */
export const leaseOwnedBy =
  (owner: string): ConditionFragment =>
  (w) =>
    `${w.name('leaseOwner')} = ${w.value('owner', owner)}`;

/** The attribute is absent or older than `since` (throttled bookkeeping such as `lastUsedAt`). */
export const absentOrBefore =
  (attribute: string, since: number): ConditionFragment =>
  (w) =>
    `(attribute_not_exists(${w.name(attribute)}) OR ${w.name(attribute)} < ${w.value('since', since)})`;
