import type { SQSClient } from '@aws-sdk/client-sqs';

/**
 * An in-process stand-in for the SQS client, for the paths moto cannot exercise (the message-move task)
 * or cannot provoke on demand (an expired receipt handle). Answers by command class; any other command
 * fails the test.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CommandClass = abstract new (...args: any[]) => { input: unknown };
type Handler = (input: Record<string, unknown>) => unknown;

export interface FakeSqs {
  client: SQSClient;
  calls: { command: string; input: Record<string, unknown> }[];
  callsOf(command: CommandClass): Record<string, unknown>[];
}

export function fakeSqs(handlers: [CommandClass, Handler][]): FakeSqs {
  const byClass = new Map<unknown, Handler>(handlers);
  const calls: FakeSqs['calls'] = [];
  const client = {
    async send(command: { input: Record<string, unknown>; constructor: unknown }) {
      const name = (command.constructor as { name: string }).name;
      calls.push({ command: name, input: command.input });
      const handler = byClass.get(command.constructor);
      if (!handler) throw new Error(`fake SQS: unexpected ${name}`);
      return handler(command.input);
    },
    destroy() {},
  };
  return {
    client: client as unknown as SQSClient,
    calls,
    callsOf: (cls) => calls.filter((c) => c.command === cls.name).map((c) => c.input),
  };
}

/** An error shaped like the SDK's service exceptions. */
export function awsError(name: string, message = name, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}
