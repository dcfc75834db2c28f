import type { VarSpec } from './parsers.ts';
import { VARS } from './variables.ts';

/** The text of `.env.example`, generated from the table so the two cannot drift (a test compares them). */
export function renderEnvExample(): string {
  const lines = [
    '# catalog-sync configuration. Every variable the program reads, with its default.',
    '# Required ones have no default and are left empty here. Generated from src/config.ts:',
    '#   node scripts/gen-env-example.ts > .env.example',
    '# The AWS SDK reads AWS_ENDPOINT_URL itself: set it to point at a local emulator (moto).',
    '',
  ];
  for (const spec of Object.values(VARS) as VarSpec<unknown>[]) {
    lines.push(
      `# ${spec.doc}${spec.default === undefined ? ' (required)' : ''}${spec.secret ? ' [secret]' : ''}`,
    );
    lines.push(`${spec.env}=${spec.default ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}
