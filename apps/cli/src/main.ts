#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from './command.js';
import { dlqListCommand } from './commands/dlq-list.js';
import { dlqPurgeCommand } from './commands/dlq-purge.js';
import { dlqReplayCommand } from './commands/dlq-replay.js';
import { dlqShowCommand } from './commands/dlq-show.js';
import { queuesCommand } from './commands/queues.js';
import { reconcileCommand } from './commands/reconcile.js';
import { shardsCommand } from './commands/shards.js';
import { shardsSetCommand } from './commands/shards-set.js';
import { statusCommand } from './commands/status.js';
import { webhooksListCommand } from './commands/webhooks-list.js';
import { webhooksReplayCommand } from './commands/webhooks-replay.js';
import { webhooksShowCommand } from './commands/webhooks-show.js';
import { webhooksTestCommand } from './commands/webhooks-test.js';
import { runCli } from './dispatcher.js';

/** Every `vodctl` command: one file each under `commands/`, one line each here. */
export const COMMANDS: readonly Command[] = [
  dlqListCommand,
  dlqShowCommand,
  dlqReplayCommand,
  dlqPurgeCommand,
  statusCommand,
  queuesCommand,
  reconcileCommand,
  shardsCommand,
  shardsSetCommand,
  webhooksListCommand,
  webhooksShowCommand,
  webhooksReplayCommand,
  webhooksTestCommand,
];

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

// Tests import COMMANDS and call runCli themselves; only `node dist/main.js` / the `vodctl` bin runs here.
if (isEntryPoint()) {
  process.exitCode = await runCli(process.argv.slice(2), COMMANDS);
}
