import { parseArgs } from 'node:util';

/** The chaos run's command line, as numbers and switches. */
export interface ChaosOptions {
  rounds: number;
  seed: number;
  /** Products ids are drawn from (P000…). */
  idCount: number;
  /** Worker processes at once. */
  workerCount: number;
  /** The fault deck (fault-deck.ts); empty: every fault, shuffled. */
  faults: string;
  lostRate: number;
  redeliverRate: number;
  convergeSeconds: number;
  keepLogs: boolean;
  /** Another checkout's bin/catalog-sync (e.g. an older commit), judged by the same oracle. */
  workerBin: string | undefined;
  /** Another checkout's dags/ folder, to pair an older worker with its own DAG. */
  dagsFolder: string | undefined;
}

/** Parses `--rounds N --seed S [--ids K] [--workers W] [--faults LIST] …`; unknown flags throw. */
export function parseChaosOptions(argv: string[] = process.argv.slice(2)): ChaosOptions {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '5' },
      seed: { type: 'string', default: '1' },
      ids: { type: 'string', default: '40' },
      workers: { type: 'string', default: '3' },
      faults: { type: 'string', default: '' },
      'lost-rate': { type: 'string', default: '0.2' },
      'redeliver-rate': { type: 'string', default: '0.4' },
      'converge-seconds': { type: 'string', default: '240' },
      'keep-logs': { type: 'boolean', default: false },
      'worker-bin': { type: 'string', default: '' },
      'dags-folder': { type: 'string', default: '' },
    },
  });
  const workerCount = Number(args.workers);
  if (!(workerCount >= 1 && workerCount <= 5)) throw new Error('--workers must be 1–5');
  return {
    rounds: Number(args.rounds),
    seed: Number(args.seed),
    idCount: Number(args.ids),
    workerCount,
    faults: args.faults,
    lostRate: Number(args['lost-rate']),
    redeliverRate: Number(args['redeliver-rate']),
    convergeSeconds: Number(args['converge-seconds']),
    keepLogs: args['keep-logs'],
    workerBin: args['worker-bin'] || undefined,
    dagsFolder: args['dags-folder'] || undefined,
  };
}
