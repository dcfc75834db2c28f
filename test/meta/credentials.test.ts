import { inspect } from 'node:util';
import { expect } from 'chai';
import { classifyGraphError } from '../../src/meta/graph-error.ts';
import type { Simulator } from '../../tools/simulator/index.ts';
import { tokenFormatProblem } from '../../src/meta/token-format.ts';
import { APP_SECRET, TOKEN, capturingLogger, clientFor, validItem, withSim, rejection } from './helpers.ts';

/**
 * Credential failures must halt the worker (kind auth/permission), never look like a bad request (which
 * dead-letters whole windows) or a network blip (which retries forever).
 */

describe('meta: credential failures are auth or permission', () => {
  describe('classification', () => {
    const cases: [number, number | null, string, string][] = [
      [100, null, 'Invalid appsecret_proof provided in the API argument', 'auth'],
      [100, null, 'API calls from the server require an appsecret_proof argument', 'auth'],
      [100, null, '(#100) The access token could not be decrypted', 'auth'],
      [
        100,
        33,
        "Unsupported post request. Object with ID '1' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
        'permission',
      ],
      [100, null, '(#100) Param requests must be an array', 'invalid-parameter'],
      [102, null, 'Session key invalid or no longer valid', 'auth'],
      [104, null, 'An access token is required to request this resource.', 'auth'],
      [190, 463, 'Error validating access token: Session has expired.', 'auth'],
      [10, null, '(#10) Application does not have permission for this action', 'permission'],
      [200, null, '(#200) Permissions error', 'permission'],
      [299, null, '(#299) …', 'permission'],
    ];
    for (const [code, subcode, message, kind] of cases) {
      it(`${code}${subcode ? `/${subcode}` : ''} "${message.slice(0, 50)}" → ${kind}`, () => {
        for (const endpoint of ['items_batch', 'check_batch_request_status', 'catalog'] as const) {
          expect(classifyGraphError({ endpoint, code, subcode, message, httpStatus: 400 })).to.equal(kind);
        }
      });
    }
  });

  describe('against the simulator', () => {
    let strict: Simulator;
    before(async () => {
      strict = await withSim({ appSecret: APP_SECRET });
    });
    beforeEach(() => strict.reset());
    after(() => strict.stop());

    it('a wrong META_APP_SECRET: Meta’s code 100 "Invalid appsecret_proof" is kind auth, not retried', async () => {
      const client = clientFor(strict, { appSecret: `wrong-${APP_SECRET}` });
      for (const call of [
        () => client.itemsBatch([validItem('W')]),
        () => client.checkBatchStatus('AcHandle'),
        () => client.probe(),
      ]) {
        const err = await rejection(call());
        expect(err).to.include({ kind: 'auth', code: 100, retryable: false, attempts: 1 });
        expect(err.message).to.match(/Invalid appsecret_proof provided in the API argument/);
      }
      expect(strict.calls().map((c) => c.errorCode)).to.deep.equal([100, 100, 100]);
    });

    it('a token with a pasted zero-width space: kind auth before any HTTP, the position named, the token never', async () => {
      const { logger, text } = capturingLogger();
      const bad = `${TOKEN.slice(0, 12)}\u200b${TOKEN.slice(12)}`;
      const client = clientFor(strict, { accessToken: bad, appSecret: APP_SECRET, logger });
      const remaining = client.budgetRemaining();
      const errors = [
        await rejection(client.itemsBatch([validItem('Z')])),
        await rejection(client.checkBatchStatus('AcHandle')),
        await rejection(client.probe()),
      ];
      for (const err of errors) {
        expect(err).to.include({ kind: 'auth', attempts: 0, retryable: false });
        expect(err.message).to.include('U+200B (zero-width space), at position 13 of');
        expect(err.message).to.include('META_ACCESS_TOKEN');
        for (const view of [err.message, JSON.stringify(err), inspect(err)]) {
          expect(view).to.not.include(TOKEN.slice(0, 12));
          expect(view).to.not.include(TOKEN.slice(12));
        }
      }
      expect(strict.calls()).to.deep.equal([]);
      expect(client.budgetRemaining()).to.equal(remaining);
      expect(text()).to.include('access token is unusable').and.not.include(TOKEN.slice(12));
    });

    it('a token fetch cannot put in a header never surfaces as a TypeError (any character above U+00FF)', async () => {
      for (const ch of ['\u00a0', '\ufeff', '\u2028', 'é', ' ']) {
        const client = clientFor(strict, { accessToken: `${TOKEN}${ch}`, appSecret: APP_SECRET });
        const err = await rejection(client.itemsBatch([validItem('Z')]));
        expect(err.kind).to.equal('auth');
      }
      expect(strict.calls()).to.deep.equal([]);
    });
  });

  describe('token format', () => {
    it('names the position and code point, never the value', () => {
      expect(tokenFormatProblem(`EAAB${'x'.repeat(40)}`)).to.equal(null);
      expect(tokenFormatProblem('')).to.equal('is empty');
      expect(tokenFormatProblem(`EAAB\u200bsecretpart${'x'.repeat(30)}`)).to.match(
        /^has a character that is not visible ASCII, U\+200B \(zero-width space\), at position 5 of 45/,
      );
      expect(tokenFormatProblem(`EAAB${'x'.repeat(30)}\n`)).to.match(
        /whitespace, U\+000A \(line feed\), at position 35/,
      );
      expect(tokenFormatProblem('short')).to.match(/5 characters long, shorter than any access token/);
      expect(tokenFormatProblem('x'.repeat(5000))).to.match(/longer than any access token/);
      expect(tokenFormatProblem(`EAAB\u200bsecretpart${'x'.repeat(30)}`)).to.not.include('secretpart');
    });
  });
});
