import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LocalBus } from '../../src/bus/local.ts';
import { busContract } from '../contract/bus.contract.ts';

// One process is one node: both "nodes" of the contract are the same LocalBus,
// named as two so the registry checks still tell endpoints apart.
busContract('local', async () => {
  const bus = new LocalBus('node-a');
  const other = Object.create(bus, { nodeId: { value: 'node-b' } }) as LocalBus;
  return { a: bus, b: other, cleanup: () => bus.close() };
});

it('LocalBus refuses use after close', async () => {
  const bus = new LocalBus();
  await bus.close();
  await assert.rejects(bus.publish('x', 1), /closed/);
});
