/**
 * Configuration from environment variables (12-factor). The table of variables is config/variables.ts;
 * config/parsers.ts turns a variable's text into its value, config/load.ts reads an environment with the
 * rules over several variables, config/env-example.ts renders `.env.example` from the table (a test keeps
 * the two equal). This module is the one importers use.
 */

export { ConfigError, loadConfig } from './config/load.ts';
export { renderEnvExample } from './config/env-example.ts';
export { VARS, type Config, type ConfigKey } from './config/variables.ts';
