import { startMoto, type MotoServer } from '../tools/local-aws/moto-server.ts';

/**
 * Mocha root hooks: one moto server for the whole run, on a free loopback port. Suites isolate
 * themselves by deploying the template under their own stage name (see support/sandbox-harness.ts).
 */
let moto: MotoServer | undefined;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    moto = await startMoto();
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'local';
    process.env.AWS_SECRET_ACCESS_KEY = 'local';
  },
  async afterAll() {
    await moto?.stop();
  },
};
