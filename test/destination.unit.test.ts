import { expect } from 'chai';
import { destinationFor, type DestinationConfig } from '../src/destination.ts';

const base: DestinationConfig = {
  catalogId: '123',
  currency: 'EUR',
  apiVersion: 'v23.0',
  accessToken: 'token-value',
  accessTokenSecretId: undefined,
};

describe('destination seam (unit)', () => {
  it('every landing object goes to the one configured catalog, currency and API version', () => {
    const any = destinationFor(base);
    const forObject = destinationFor(base, { bucket: 'landing', key: 'landing/shop-b/products.csv' });
    expect(any).to.deep.equal({
      catalogId: '123',
      currency: 'EUR',
      apiVersion: 'v23.0',
      token: { kind: 'fixed', accessToken: 'token-value' },
    });
    expect(forObject).to.deep.equal(any);
  });

  it('a Secrets Manager secret is the token origin when configured', () => {
    const d = destinationFor({ ...base, accessToken: undefined, accessTokenSecretId: 'meta/token' });
    expect(d.token).to.deep.equal({ kind: 'secrets-manager', secretId: 'meta/token' });
  });

  it('no token configured is said, not guessed', () => {
    const d = destinationFor({ ...base, accessToken: undefined });
    expect(d.token).to.deep.equal({ kind: 'none' });
  });
});
