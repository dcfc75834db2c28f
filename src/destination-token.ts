import type { Config } from './config.ts';
import type { Destination } from './destination.ts';
import type { Logger } from './logger.ts';
import { secretsManagerToken } from './meta/secrets-manager-token.ts';
import { fixedToken, type TokenSource } from './meta/token-source.ts';

/**
 * Where a destination's token comes from: as given, or the Secrets Manager secret, read now (a failure
 * stops the start-up, as a missing variable would) and again by the client's refreshCredentials().
 */
export async function tokenSourceFor(
  destination: Pick<Destination, 'token'> & { awsRegion: Config['awsRegion'] },
  logger: Logger,
): Promise<TokenSource> {
  const { token } = destination;
  if (token.kind === 'secrets-manager') {
    return secretsManagerToken({
      secretId: token.secretId,
      region: destination.awsRegion,
      logger: logger.child({ component: 'token-source' }),
    });
  }
  if (token.kind === 'none') throw new Error('META_ACCESS_TOKEN or META_ACCESS_TOKEN_SECRET_ID is required');
  return fixedToken(token.accessToken);
}
