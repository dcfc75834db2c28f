import { userInfo } from 'node:os';

/** Who runs an operator command, for the record: `--by`, else the OS user. */
export function whoAmI(by: string | undefined): string {
  if (by !== undefined && by.trim() !== '') return by.trim();
  try {
    return userInfo().username || process.env.USER || 'unknown';
  } catch {
    return process.env.USER || 'unknown';
  }
}
