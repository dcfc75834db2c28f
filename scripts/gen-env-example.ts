import { renderEnvExample } from '../src/config.ts';

process.stdout.write(renderEnvExample());
