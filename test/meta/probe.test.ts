import { expect } from 'chai';
import { appsecretProof } from '../../src/meta/appsecret-proof.ts';
import type { Simulator } from '../../tools/simulator/index.ts';
import {
  APP_SECRET,
  CATALOG,
  TOKEN,
  VERSION,
  clientFor,
  errorOf,
  fakeClock,
  validItem,
  withSim,
  rejection,
} from './helpers.ts';

/**
 * probe(): the one cheap read a halted worker repeats to learn when the credentials work again, and the
 * simulator's catalog node route behind it.
 */

describe('meta: probe() and the catalog node', () => {
  let sim: Simulator;
  before(async () => {
    sim = await withSim({ appSecret: APP_SECRET, catalogIds: [CATALOG] });
  });
  beforeEach(() => sim.reset());
  after(() => sim.stop());

  const client = (extra: Parameters<typeof clientFor>[1] = {}) =>
    clientFor(sim, { appSecret: APP_SECRET, ...extra });

  it('resolves with a working token: one GET /{version}/{catalog}?fields=id with appsecret_proof, no budget spent', async () => {
    const seen: string[] = [];
    const c = client({
      hourlyCallBudget: 3,
      fetch: async (input, init) => {
        seen.push(`${init?.method} ${String(input)}`);
        return fetch(input, init);
      },
    });
    await c.probe();
    expect(seen).to.have.length(1);
    const url = new URL(seen[0]!.slice('GET '.length));
    expect(seen[0]!.startsWith('GET ')).to.equal(true);
    expect(url.pathname).to.equal(`/${VERSION}/${CATALOG}`);
    expect(url.searchParams.get('fields')).to.equal('id');
    expect(url.searchParams.get('appsecret_proof')).to.equal(appsecretProof(TOKEN, APP_SECRET));
    expect(url.search).to.not.include(TOKEN);
    expect(c.budgetRemaining()).to.equal(3);
    expect(sim.calls().map((x) => [x.endpoint, x.outcome])).to.deep.equal([['catalog', 'ok']]);
  });

  it('throws auth while Meta refuses the token (190), the app secret (100) or a missing token', async () => {
    sim.setFaults({ invalidToken: true });
    expect(await rejection(client().probe())).to.include({ kind: 'auth', code: 190, endpoint: 'catalog' });
    sim.setFaults({});
    expect(await rejection(client({ accessToken: `other-${TOKEN}` }).probe())).to.include({
      kind: 'auth',
      code: 190,
    });
    expect(await rejection(client({ appSecret: `wrong-${APP_SECRET}` }).probe())).to.include({
      kind: 'auth',
      code: 100,
    });
    expect(sim.calls().filter((x) => x.endpoint === 'items_batch')).to.deep.equal([]);
  });

  it('throws permission when the token cannot see the catalog (100/33)', async () => {
    const err = await rejection(clientFor(sim, { appSecret: APP_SECRET, catalogId: '555' }).probe());
    expect(err).to.include({ kind: 'permission', code: 100, subcode: 33 });
  });

  it('throws transient or throttled when Meta cannot say, after one read (never retried)', async () => {
    const clock = fakeClock();
    sim.setFaults({ serverErrorRate: 1 });
    const down = await rejection(client({ sleep: clock.sleep, maxRetries: 5 }).probe());
    expect(down).to.include({ kind: 'transient', httpStatus: 503, attempts: 1 });
    sim.setFaults({ statusThrottle: { times: 1 } });
    const busy = await rejection(client({ sleep: clock.sleep, maxRetries: 5 }).probe());
    expect(busy).to.include({ kind: 'throttled', code: 80009, retryAfterMs: 60_000 });
    expect(clock.sleeps).to.deep.equal([]);
    expect(sim.calls()).to.have.length(2);
  });

  it('resolves again once the fault is gone, and items_batch works', async () => {
    sim.setFaults({ invalidToken: { times: 1 } });
    const c = client();
    await rejection(c.probe());
    await c.probe();
    expect((await c.itemsBatch([validItem('P')])).handle).to.be.a('string');
  });

  it('refreshCredentials() is a no-op for a token given as is', async () => {
    const c = client();
    await c.refreshCredentials();
    await c.probe();
  });

  describe('the simulator route', () => {
    const get = async (path: string, token: string | null = TOKEN) => {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(`${sim.url}${path}`, { headers });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const proof = appsecretProof(TOKEN, APP_SECRET);

    it('answers the fields asked for, id by default', async () => {
      expect((await get(`/${VERSION}/${CATALOG}?appsecret_proof=${proof}`)).json).to.deep.equal({
        id: CATALOG,
      });
      const named = await get(`/${CATALOG}?fields=id,name,product_count&appsecret_proof=${proof}`);
      expect(named.json).to.deep.equal({
        id: CATALOG,
        name: `Simulated catalog ${CATALOG}`,
        product_count: 0,
      });
      const unknown = await get(`/${VERSION}/${CATALOG}?fields=id,secret_sauce&appsecret_proof=${proof}`);
      expect(errorOf(unknown.json)).to.include({ code: 100 });
      expect(errorOf(unknown.json).message).to.match(/nonexisting field \(secret_sauce\)/);
    });

    it('checks token, proof and catalog like the batch endpoints', async () => {
      expect(errorOf((await get(`/${VERSION}/${CATALOG}?fields=id`, null)).json).code).to.equal(104);
      expect(errorOf((await get(`/${VERSION}/${CATALOG}?fields=id`)).json).message).to.match(
        /require an appsecret_proof/,
      );
      expect(errorOf((await get(`/${VERSION}/${CATALOG}?appsecret_proof=abc`)).json).message).to.match(
        /Invalid appsecret_proof provided in the API argument/,
      );
      expect(errorOf((await get(`/${VERSION}/999?appsecret_proof=${proof}`)).json)).to.include({
        code: 100,
        error_subcode: 33,
      });
      sim.setFaults({ errors: [{ code: 2, endpoint: 'catalog', times: 1 }] });
      expect(errorOf((await get(`/${VERSION}/${CATALOG}?appsecret_proof=${proof}`)).json).code).to.equal(2);
      expect((await get(`/${VERSION}/${CATALOG}?appsecret_proof=${proof}`)).status).to.equal(200);
    });
  });
});
