import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, renderEnvExample } from '../src/config.ts';

const required = {
  LANDING_BUCKET: 'landing',
  SYNCED_BUCKET: 'synced',
  QUEUE_URL: 'http://127.0.0.1:1/q',
  META_CATALOG_ID: '123',
  META_ACCESS_TOKEN: 'EAAtesttokentesttokentesttoken',
  CATALOG_CURRENCY: 'usd',
};

describe('configuration from the environment', () => {
  it('applies defaults and normalises values', () => {
    const cfg = loadConfig(required);
    expect(cfg.currency).to.equal('USD');
    expect(cfg.landingPrefix).to.equal('landing/');
    expect(cfg.batchMaxItems).to.equal(5000);
    expect(cfg.quietMs).to.equal(30_000);
    expect(cfg.columnMap).to.deep.equal({});
  });

  it('reports every bad value at once, naming the variable and the rule', () => {
    const err = (() => {
      try {
        loadConfig({
          ...required,
          META_BATCH_MAX_ITEMS: '6000',
          CATALOG_CURRENCY: 'dollars',
          QUEUE_URL: 'nope',
        });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err).to.be.instanceOf(ConfigError);
    expect(err.problems).to.have.length(3);
    expect(err.message).to.include('META_BATCH_MAX_ITEMS must be between 1 and 5000, got 6000');
    expect(err.message).to.include('CATALOG_CURRENCY must be an ISO 4217 code');
    expect(err.message).to.include('QUEUE_URL');
  });

  it('names missing required variables', () => {
    expect(() => loadConfig({})).to.throw(ConfigError, 'LANDING_BUCKET is required');
  });

  it('never echoes a secret, even a malformed one', () => {
    expect(() => loadConfig({ ...required, META_ACCESS_TOKEN: '   ' }))
      .to.throw(ConfigError)
      .that.satisfies((e: ConfigError) => e.problems.some((p) => p.startsWith('META_ACCESS_TOKEN')));
    const secret = 'EAAsupersecretvalue123456';
    try {
      loadConfig({ ...required, META_APP_SECRET: secret, META_MAX_RETRIES: 'x' });
    } catch (e) {
      expect((e as Error).message).not.to.include(secret);
    }
  });

  it('loads only the keys a command asks for', () => {
    const cfg = loadConfig({ CATALOG_CURRENCY: 'EUR' }, ['currency', 'defaultCondition']);
    expect(cfg).to.deep.equal({ currency: 'EUR', defaultCondition: 'new' });
  });

  it('documents every variable in .env.example (generated from the table)', () => {
    expect(readFileSync(new URL('../.env.example', import.meta.url), 'utf8')).to.equal(renderEnvExample());
  });
});
