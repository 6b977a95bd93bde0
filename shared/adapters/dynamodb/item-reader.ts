import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StoredItemError } from '#shared/core/domain/errors.js';

/** A DynamoDB item as the document client returns it. */
export type Item = Record<string, unknown>;

/**
 * Reads a stored item into a domain value, checking every attribute on the way: where stored data
 * enters the domain, a missing attribute, a wrong type or an unknown enum value is a
 * `StoredItemError` naming the item and the attribute (never its value, which may be a token), not a
 * cast that fails somewhere later.
 *
 * @example
 * const read = new ItemReader(item, `token set ${item.pk}/${item.sk}`);
 * const status = read.oneOf('status', TOKEN_STATUSES);
 */
export class ItemReader {
  constructor(
    private readonly item: Item,
    /** Names the item in errors: its kind and key, e.g. `token set PORTAL#abc/TOKEN#1`. */
    readonly label: string,
  ) {}

  string(name: string): string {
    const value = this.item[name];
    if (typeof value !== 'string') throw this.problem(name, value === undefined ? 'is missing' : 'is not a string');
    return value;
  }

  number(name: string): number {
    const value = this.item[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw this.problem(name, value === undefined ? 'is missing' : 'is not a number');
    }
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.item[name] === undefined ? undefined : this.string(name);
  }

  optionalNumber(name: string): number | undefined {
    return this.item[name] === undefined ? undefined : this.number(name);
  }

  /** A string that must be one of `allowed` (a status, a source, a trigger). */
  oneOf<const T extends string>(name: string, allowed: readonly T[]): T {
    const value = this.string(name);
    const found = allowed.find((candidate) => candidate === value);
    if (found === undefined) throw this.problem(name, 'has a value the service does not know');
    return found;
  }

  stringList(name: string): string[] {
    const value = this.item[name];
    if (!Array.isArray(value) || !value.every((entry): entry is string => typeof entry === 'string')) {
      throw this.problem(name, value === undefined ? 'is missing' : 'is not a list of strings');
    }
    return value;
  }

  /** A nested map, read with its own reader (`lastFailure`, `issued`, `claim`). */
  map(name: string): ItemReader {
    const value = this.item[name];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw this.problem(name, value === undefined ? 'is missing' : 'is not a map');
    }
    return new ItemReader(value as Item, `${this.label} ${name}`);
  }

  optionalMap(name: string): ItemReader | undefined {
    return this.item[name] === undefined ? undefined : this.map(name);
  }

  /** A list of maps, each read with its own reader (`history`); absent → undefined. */
  optionalMapList(name: string): ItemReader[] | undefined {
    const value = this.item[name];
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw this.problem(name, 'is not a list');
    return value.map((entry: unknown, index) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw this.problem(`${name}[${index}]`, 'is not a map');
      }
      return new ItemReader(entry as Item, `${this.label} ${name}[${index}]`);
    });
  }

  private problem(name: string, problem: string): StoredItemError {
    return new StoredItemError(this.label, name, problem);
  }
}

/** Drops undefined values: DynamoDB refuses them, and `removeUndefinedValues` would hide mistakes elsewhere. */
export function definedAttributes(record: Item): Item {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

/** What every repository is constructed with: a document client, or a plain client to wrap in one. */
export type AnyDynamoDbClient = DynamoDBClient | DynamoDBDocumentClient;

/** The document client every repository works through (plain objects in, plain objects out). */
export function documentClientOf(client: AnyDynamoDbClient): DynamoDBDocumentClient {
  return client instanceof DynamoDBDocumentClient ? client : DynamoDBDocumentClient.from(client);
}
