import { performance } from 'node:perf_hooks';
import { bulkSeedInstallations } from '#bench/lib/bulk-seed.js';
import { type CommandTally, totalCalls } from '#bench/lib/dynamodb.js';
import type { Results } from '#bench/lib/results.js';
import { World } from '#bench/lib/world.js';
import { DAY, HOUR } from '#shared/core/domain/time.js';

export interface SweepCostOptions {
  readonly endpoint: string;
  /** Installations in the table (each: installation item + one token set). */
  readonly sizes: readonly number[];
  /** Share of them due (1 % in the brief). */
  readonly dueFraction: number;
  /** Due token sets of the first sweep; the same in every table size. */
  readonly firstSweepDue: number;
  readonly concurrency: number;
}

interface SweepCost {
  readonly due: number;
  readonly refreshed: number;
  readonly queries: number;
  readonly queryItems: number;
  readonly queryScanned: number;
  readonly queryCapacityUnits: number;
  readonly getItems: number;
  readonly scans: number;
  readonly totalRequests: number;
  readonly readCapacityUnits: number;
  readonly writeCapacityUnits: number;
  readonly byCommand: Record<string, CommandTally>;
}

function costOf(snapshot: Record<string, CommandTally>, due: number, refreshed: number): SweepCost {
  const query = snapshot.Query ?? { calls: 0, items: 0, scanned: 0, capacityUnits: 0 };
  const reads = ['GetItem', 'Query', 'Scan', 'BatchGetItem'];
  let readUnits = 0;
  let writeUnits = 0;
  for (const [name, tally] of Object.entries(snapshot)) {
    if (reads.includes(name)) readUnits += tally.capacityUnits;
    else writeUnits += tally.capacityUnits;
  }
  return {
    due,
    refreshed,
    queries: query.calls,
    queryItems: query.items,
    queryScanned: query.scanned,
    queryCapacityUnits: query.capacityUnits,
    getItems: snapshot.GetItem?.items ?? 0,
    scans: snapshot.Scan?.calls ?? 0,
    totalRequests: totalCalls(snapshot),
    readCapacityUnits: Number(readUnits.toFixed(2)),
    writeCapacityUnits: Number(writeUnits.toFixed(2)),
    byCommand: snapshot,
  };
}

/**
 * Benchmark 2, second half: what a sweep reads when the table is big and few token sets are due.
 * Every installation is in the due index (as every active token set is); 1 % are due. The first sweep
 * finds the same number of due token sets in every table size; the second the rest of the 1 %.
 * Counted on DynamoDB Local with `ReturnConsumedCapacity: TOTAL` on every request.
 */
export async function benchSweepCost(options: SweepCostOptions, results: Results): Promise<void> {
  const runs: Record<string, unknown>[] = [];
  for (const size of options.sizes) {
    const world = await World.start({ endpoint: options.endpoint, name: `bench-cost-${size}` });
    try {
      const now = world.clock();
      const dueTotal = Math.round(size * options.dueFraction);
      const first = Math.min(options.firstSweepDue, dueTotal);
      const seedStarted = performance.now();
      // The due ones are real chains (the sweep refreshes them at the emulator): `first` due now, the
      // rest due 30 s later.
      await world.seedChains(world.addPortals(dueTotal), {
        due: (index) => (index < first ? now - 1000 : now + 30_000),
        installations: true,
      });
      // The others are due between 1 hour and 22 days from now: in the index, not due.
      const bulkMs = await bulkSeedInstallations(world, size - dueTotal, {
        dueFrom: now + HOUR,
        dueSpreadMs: 22 * DAY,
        concurrency: 16,
      });
      const seedMs = performance.now() - seedStarted;
      process.stdout.write(
        `  cost: ${size} installations seeded in ${(seedMs / 1000).toFixed(1)} s (bulk ${(bulkMs / 1000).toFixed(1)} s)\n`,
      );

      const sweeps: SweepCost[] = [];
      for (const step of [0, 60_000]) {
        world.emulator.clock.advance(step);
        world.dynamodb.reset();
        const summary = await world.sweep({ concurrency: options.concurrency, maxKeys: 10 * size });
        sweeps.push(costOf(world.dynamodb.snapshot(), summary.due, summary.refreshed));
      }
      const [firstSweep, secondSweep] = sweeps;
      if (firstSweep === undefined || secondSweep === undefined) throw new Error('sweeps missing');
      if (firstSweep.due !== first || firstSweep.due + secondSweep.due !== dueTotal) {
        throw new Error(
          `expected ${first} then ${dueTotal - first} due, found ${firstSweep.due} and ${secondSweep.due}`,
        );
      }
      const params = {
        installations: size,
        tableItems: 2 * size,
        due: dueTotal,
        dueShards: world.config.DUE_SHARDS,
        concurrency: options.concurrency,
      };
      const all = {
        queryItems: firstSweep.queryItems + secondSweep.queryItems,
        queryScanned: firstSweep.queryScanned + secondSweep.queryScanned,
        queryCapacityUnits: firstSweep.queryCapacityUnits + secondSweep.queryCapacityUnits,
        itemsRead: firstSweep.queryItems + secondSweep.queryItems + firstSweep.getItems + secondSweep.getItems,
        scans: firstSweep.scans + secondSweep.scans,
        readCapacityUnits: firstSweep.readCapacityUnits + secondSweep.readCapacityUnits,
        writeCapacityUnits: firstSweep.writeCapacityUnits + secondSweep.writeCapacityUnits,
        requests: firstSweep.totalRequests + secondSweep.totalRequests,
      };
      const p = `cost.${size}`;
      results.add(
        'cost',
        `${p}.first.queryItems`,
        `sweep with ${first} due: index items read by its Queries, table of ${size}`,
        firstSweep.queryItems,
        'items',
        { ...params, due: first },
      );
      results.add(
        'cost',
        `${p}.first.queryRCU`,
        `sweep with ${first} due: Query read capacity, table of ${size}`,
        firstSweep.queryCapacityUnits,
        'RCU',
        { ...params, due: first },
      );
      results.add(
        'cost',
        `${p}.all.queryItems`,
        `sweeps over the 1 % due (${dueTotal}): index items read by Queries, table of ${size}`,
        all.queryItems,
        'items',
        params,
      );
      results.add(
        'cost',
        `${p}.all.itemsRead`,
        `sweeps over the 1 % due (${dueTotal}): items read in all (Query + GetItem), table of ${size}`,
        all.itemsRead,
        'items',
        params,
      );
      results.add(
        'cost',
        `${p}.all.scans`,
        `Scan requests by the sweeps, table of ${size}`,
        all.scans,
        'requests',
        params,
      );
      results.add(
        'cost',
        `${p}.all.rcuPerRefresh`,
        `read capacity per refreshed token set, table of ${size}`,
        all.readCapacityUnits / dueTotal,
        'RCU',
        params,
      );
      results.add(
        'cost',
        `${p}.all.wcuPerRefresh`,
        `write capacity per refreshed token set, table of ${size}`,
        all.writeCapacityUnits / dueTotal,
        'WCU',
        params,
      );
      results.add(
        'cost',
        `${p}.all.requestsPerRefresh`,
        `DynamoDB requests per refreshed token set (Queries included), table of ${size}`,
        all.requests / dueTotal,
        'requests',
        params,
      );
      runs.push({ ...params, seedMs: Math.round(seedMs), bulkSeedMs: Math.round(bulkMs), sweeps, all });
    } finally {
      await world.stop();
    }
  }
  results.detail('sweepCost', runs);
}
