import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aggregatePresence,
  asSeenByOthers,
  type EndpointPresence,
  OFFLINE_ENDPOINT,
  type Status,
} from '../../src/core/presence-model.ts';

const ep = (status: Status, updatedAt: number, extra: Partial<EndpointPresence> = {}) => ({
  presence: { ...OFFLINE_ENDPOINT, capabilities: {}, status, ...extra },
  updatedAt,
});

describe('aggregatePresence', () => {
  it('is offline with no endpoints', () => {
    assert.equal(aggregatePresence([], 'Alice').status, 'offline');
    assert.equal(aggregatePresence([], 'Alice').displayName, 'Alice');
  });

  it('takes the most available status among endpoints', () => {
    assert.equal(aggregatePresence([ep('away', 1), ep('busy', 2), ep('idle', 3)], 'A').status, 'busy');
    assert.equal(aggregatePresence([ep('away', 1), ep('online', 2)], 'A').status, 'online');
  });

  it('is invisible only when every live endpoint is invisible', () => {
    assert.equal(aggregatePresence([ep('invisible', 1)], 'A').status, 'invisible');
    assert.equal(aggregatePresence([ep('invisible', 5), ep('away', 1)], 'A').status, 'away');
  });

  it('takes the personal message and avatar from the endpoint whose status it shows', () => {
    const agg = aggregatePresence(
      [
        ep('online', 1, { statusText: 'desk', avatar: 'a1' }),
        ep('away', 9, { statusText: '', avatar: 'a2' }),
      ],
      'A',
    );
    assert.equal(agg.status, 'online');
    assert.equal(agg.statusText, 'desk');
    assert.equal(agg.avatar, 'a1');
  });

  it('between equally available endpoints, the one changed last wins', () => {
    const agg = aggregatePresence(
      [ep('online', 1, { statusText: 'old' }), ep('online', 5, { statusText: 'new' })],
      'A',
    );
    assert.equal(agg.statusText, 'new');
  });

  it('ignores endpoints that are connected but have not set a status', () => {
    assert.equal(aggregatePresence([ep('offline', 9), ep('busy', 1)], 'A').status, 'busy');
  });
});

describe('asSeenByOthers', () => {
  it('shows invisible as offline, without its personal message', () => {
    const seen = asSeenByOthers(aggregatePresence([ep('invisible', 1, { statusText: 'secret' })], 'A'));
    assert.equal(seen.status, 'offline');
    assert.equal(seen.statusText, '');
  });

  it('leaves visible statuses alone', () => {
    assert.equal(asSeenByOthers(aggregatePresence([ep('busy', 1)], 'A')).status, 'busy');
  });
});
