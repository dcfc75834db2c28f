import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { buildProgram } from '../src/cli.ts';
import { DEV_REGISTRY_URL, loadDevCommands } from '../src/dev-commands.ts';

/**
 * The CLI's development commands come from tools/commands/register.ts when the tools tree is there, and
 * are left out without a word only when that exact file is absent (the worker image).
 */
describe('cli: development commands from the tools tree', () => {
  let dir: string;
  const url = (name: string) => pathToFileURL(path.join(dir, name)).href;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cs-dev-commands-'));
    await writeFile(
      path.join(dir, 'broken.mjs'),
      "import './missing.mjs';\nexport function registerDevCommands() {}\n",
    );
    await writeFile(path.join(dir, 'no-export.mjs'), 'export const other = 1;\n');
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('resolves the registry in the repository tools tree', () => {
    expect(DEV_REGISTRY_URL).to.match(/\/tools\/commands\/register\.ts$/);
  });

  it('registers sandbox, simulator and infra after the runtime commands when the registry is present', async () => {
    const register = await loadDevCommands();
    expect(register).to.be.a('function');
    const names = buildProgram([register!]).commands.map((c) => c.name());
    expect(names.slice(-3)).to.have.members(['simulator', 'sandbox', 'infra']);
    expect(buildProgram().commands.map((c) => c.name())).to.not.include.members(['sandbox']);
  });

  it('skips silently when the registry file itself is absent', async () => {
    expect(await loadDevCommands(url('register.mjs'))).to.equal(undefined);
  });

  it('surfaces a module the registry imports being absent', async () => {
    const err = await loadDevCommands(url('broken.mjs')).then(
      () => null,
      (e: unknown) => e as { code?: string; url?: string },
    );
    expect(err?.code).to.equal('ERR_MODULE_NOT_FOUND');
    expect(err?.url).to.equal(url('missing.mjs'));
  });

  it('surfaces a registry without registerDevCommands', async () => {
    const err = await loadDevCommands(url('no-export.mjs')).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(TypeError);
  });
});
