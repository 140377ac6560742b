import { parseArgs } from 'node:util';
import { runLoad } from './load-generator.js';

/** Usage of `node apps/vod-simulator/dist/main.js load`. */
export const LOAD_USAGE = `usage: node apps/vod-simulator/dist/main.js load --target <url> [options]
  --target <url>         receiver, 127.0.0.1/localhost only (e.g. http://127.0.0.1:3000/callbacks/vod)
  --count <n>            callbacks to send, duplicates included (default 1000, max 1000000)
  --rate <n>             callbacks per second (default 200)
  --concurrency <n>      most requests in flight (default 50)
  --duplicates <ratio>   share of sends repeating an earlier RequestId (default 0.05)
  --max-seconds <n>      hard time limit (default 60, max 600)
  --private-key <key>    sign callbacks with this PrivateKey
  --sign-url <url>       URL the signature covers (default --target)
  --space <name>         SpaceName of the events (default load-space)
Prints a JSON report (statuses, latency percentiles, duration).`;

/** Runs the load mode from command-line arguments; returns the exit code. */
export async function loadCli(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        target: { type: 'string' },
        count: { type: 'string', default: '1000' },
        rate: { type: 'string', default: '200' },
        concurrency: { type: 'string', default: '50' },
        duplicates: { type: 'string', default: '0.05' },
        'max-seconds': { type: 'string', default: '60' },
        'private-key': { type: 'string' },
        'sign-url': { type: 'string' },
        space: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${LOAD_USAGE}\n`);
    return 2;
  }
  if (values.help || !values.target) {
    (values.help ? process.stdout : process.stderr).write(`${LOAD_USAGE}\n`);
    return values.help ? 0 : 2;
  }
  try {
    const report = await runLoad({
      targetUrl: String(values.target),
      count: Number(values.count),
      ratePerSecond: Number(values.rate),
      concurrency: Number(values.concurrency),
      duplicateRatio: Number(values.duplicates),
      maxDurationMs: Number(values['max-seconds']) * 1000,
      privateKey: values['private-key'] as string | undefined,
      signUrl: values['sign-url'] as string | undefined,
      spaceName: values.space as string | undefined,
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`load: ${(err as Error).message}\n`);
    return 2;
  }
}
