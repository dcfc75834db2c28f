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

  it('has the worker’s halt/resume, throttle, version and unknown-fate settings, with defaults', () => {
    const cfg = loadConfig(required);
    expect(cfg).to.include({
      accessToken: required.META_ACCESS_TOKEN,
      accessTokenSecretId: undefined,
      authProbeIntervalMs: 180_000,
      throttleRetryMinMs: 5_000,
      throttleRetryMaxMs: 300_000,
      versionColumn: undefined,
      unknownRetryMax: 5,
      unknownRetryBaseMs: 30_000,
      leaseTtlMs: 60_000,
      unsentSettleMs: 600_000,
    });
    const set = loadConfig({
      ...required,
      AUTH_PROBE_INTERVAL_MS: '60000',
      THROTTLE_RETRY_MIN_MS: '1000',
      THROTTLE_RETRY_MAX_MS: '1000',
      VERSION_COLUMN: ' Updated At ',
      UNKNOWN_RETRY_MAX: '0',
      UNKNOWN_RETRY_BASE_MS: '500',
      LEASE_TTL_MS: '2000',
      UNSENT_SETTLE_MS: '0',
    });
    expect(set).to.include({
      authProbeIntervalMs: 60_000,
      throttleRetryMinMs: 1000,
      throttleRetryMaxMs: 1000,
      versionColumn: 'updated_at',
      unknownRetryMax: 0,
      unknownRetryBaseMs: 500,
      leaseTtlMs: 2000,
      unsentSettleMs: 0,
    });
  });

  it('validates them, and the rules between them', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ ...required, ...env });
      } catch (e) {
        return (e as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ THROTTLE_RETRY_MIN_MS: '60000', THROTTLE_RETRY_MAX_MS: '5000' })).to.deep.equal([
      'THROTTLE_RETRY_MIN_MS (60000) must not be more than THROTTLE_RETRY_MAX_MS (5000)',
    ]);
    expect(problems({ THROTTLE_RETRY_MAX_MS: '3600000' })[0]).to.match(
      /THROTTLE_RETRY_MAX_MS must be between/,
    );
    expect(problems({ AUTH_PROBE_INTERVAL_MS: '5' })[0]).to.match(
      /AUTH_PROBE_INTERVAL_MS must be between 100/,
    );
    expect(problems({ UNKNOWN_RETRY_MAX: '-1' })[0]).to.match(/UNKNOWN_RETRY_MAX must be between 0 and 100/);
    expect(problems({ LEASE_TTL_MS: 'soon' })[0]).to.match(/LEASE_TTL_MS must be a whole number/);
    expect(problems({ UNSENT_SETTLE_MS: '-5' })[0]).to.match(/UNSENT_SETTLE_MS must be between 0/);
    expect(problems({ VERSION_COLUMN: 'Price' })[0]).to.match(/VERSION_COLUMN must name a column of its own/);
    expect(problems({ VERSION_COLUMN: 'a,b' })[0]).to.match(/VERSION_COLUMN must be one CSV column name/);
  });

  it('takes the token from exactly one of META_ACCESS_TOKEN and META_ACCESS_TOKEN_SECRET_ID', () => {
    const noToken: Record<string, string> = { ...required };
    delete noToken.META_ACCESS_TOKEN;
    const viaSecret = loadConfig({ ...noToken, META_ACCESS_TOKEN_SECRET_ID: 'prod/catalog-sync/meta-token' });
    expect(viaSecret).to.include({
      accessToken: undefined,
      accessTokenSecretId: 'prod/catalog-sync/meta-token',
    });
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/meta-token-AbCdEf';
    expect(loadConfig({ ...noToken, META_ACCESS_TOKEN_SECRET_ID: arn }).accessTokenSecretId).to.equal(arn);
    expect(() => loadConfig(noToken)).to.throw(
      ConfigError,
      'META_ACCESS_TOKEN or META_ACCESS_TOKEN_SECRET_ID is required',
    );
    expect(() => loadConfig({ ...required, META_ACCESS_TOKEN_SECRET_ID: 'x/y' })).to.throw(
      ConfigError,
      'META_ACCESS_TOKEN and META_ACCESS_TOKEN_SECRET_ID are both set: set only one',
    );
    expect(() => loadConfig({ ...noToken, META_ACCESS_TOKEN_SECRET_ID: 'has spaces in it' })).to.throw(
      ConfigError,
      'META_ACCESS_TOKEN_SECRET_ID must be a Secrets Manager secret name or ARN',
    );
  });

  it('checks the token’s format at start-up, naming the bad character but never the token', () => {
    const token = 'EAAGsecretsecretsecret1234567890';
    const pasted = `${token.slice(0, 9)}\u200b${token.slice(9)}`;
    const message = (env: Record<string, string>) => {
      try {
        loadConfig({ ...required, ...env });
      } catch (e) {
        return (e as ConfigError).message;
      }
      throw new Error('expected a ConfigError');
    };
    const zw = message({ META_ACCESS_TOKEN: pasted });
    expect(zw).to.include(
      'META_ACCESS_TOKEN has a character that is not visible ASCII, U+200B (zero-width space), at position 10 of 33',
    );
    const nl = message({ META_ACCESS_TOKEN: `${token}\n` });
    expect(nl).to.include('META_ACCESS_TOKEN has whitespace, U+000A (line feed), at position 33 of 33');
    expect(message({ META_ACCESS_TOKEN: `${token.slice(0, 12)} ${token.slice(12)}` })).to.include(
      'U+0020 (space), at position 13',
    );
    expect(message({ META_ACCESS_TOKEN: 'EAAshort' })).to.include(
      'META_ACCESS_TOKEN is 8 characters long, shorter than any access token',
    );
    expect(message({ META_ACCESS_TOKEN: `EAA${'é'.repeat(20)}` })).to.include('U+00E9, at position 4 of 23');
    for (const m of [zw, nl]) {
      expect(m).to.not.include(token.slice(0, 9)).and.not.include(token.slice(9));
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
