import { createHash } from 'node:crypto';
import {
  COLLAPSED_CLAIM_SCRIPT,
  COLLAPSED_TALLY_SCRIPT,
  RedisKeys,
  readSourceState,
  sourceKeyOf,
} from '@vod-callbacks/shared';
import { startRedisServer, waitFor } from '@vod-callbacks/test-support';
import { VodApiError } from '@vod-callbacks/vod-client';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ADD_EVENT_JOBS } from '../apps/ingress/src/event-job-writer.js';
import { RECORD_SCRIPT } from '../apps/worker/src/outcome-store.js';
import { CLAIM_SCRIPT } from '../apps/worker/src/reupload-budget.js';
import { simulatorClient } from './helpers/simulator-in-process.js';
import { postCallback, startPipelineWithSimulator, uploadEvent } from './support/pipeline.js';

// Redis Cluster and proxies route a script by the keys it declares, and only a declared key is
// sure to be on the node that runs it. This watches a real pipeline (ingress, worker, the VOD
// simulator, re-uploads and a reconciled lost callback) through MONITOR and checks, for every call
// of our own scripts, that each key the script touched (per `COMMAND GETKEYS`) was in its KEYS.

// A script that breaks the rule, run once alongside: the check must report it (it can fail).
const ROGUE = "redis.call('SET', KEYS[1], '1') redis.call('SET', KEYS[1] .. ':undeclared', '1') return 1";
const OUR_SCRIPTS = new Map(
  Object.entries({
    ADD_EVENT_JOBS,
    RECORD_SCRIPT,
    CLAIM_SCRIPT,
    COLLAPSED_TALLY_SCRIPT,
    COLLAPSED_CLAIM_SCRIPT,
    ROGUE,
  }).map(([name, lua]) => [createHash('sha1').update(lua).digest('hex'), name]),
);

interface ScriptCall {
  script: string;
  declared: Set<string>;
  touched: string[][];
}

describe('every Lua script of ours declares every key it touches', () => {
  it('holds for every call while a pipeline with re-uploads and reconciliation runs', async () => {
    const server = await startRedisServer();
    const admin = new Redis(server.url);
    const monitor = await new Redis(server.url).monitor();
    const calls: ScriptCall[] = [];
    let current: ScriptCall | undefined;
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua') {
        current?.touched.push(args);
        return;
      }
      const [command, sha, numKeys] = args;
      const script = command?.toLowerCase() === 'evalsha' ? OUR_SCRIPTS.get(sha ?? '') : undefined;
      current = script
        ? { script, declared: new Set(args.slice(3, 3 + Number(numKeys))), touched: [] }
        : undefined;
      if (current) calls.push(current);
    });
    const stack = await startPipelineWithSimulator({
      label: 'luakeys',
      credentials: { accessKeyId: 'AKLTluakeys', secretKey: 'lua-keys-secret' },
      env: { REDIS_URL: server.url, EVICTION_POLICY_CHECK: 'warn' },
      simulatorEnv: { SIM_PROCESSING_MS: '50', SIM_REDELIVERY_DELAYS_MS: '200,400' },
      workerEnv: {
        REUPLOAD_BACKOFF_MS: '200',
        REUPLOAD_SPACES: 'lua-space',
        RECONCILE_AFTER_SECONDS: '2',
        RECONCILE_INTERVAL_SECONDS: '1',
      },
    });
    try {
      const url = (name: string, script: string) =>
        `https://media.example.com/lua/${name}.mp4?vodsim=${script}`;
      // Retried then succeeded; retried until the budget ends; a re-upload whose callback is lost.
      const sources = [
        { SourceUrl: url('twice', 'fail,ok'), CallbackArgs: 'a' },
        { SourceUrl: url('exhausted', 'fail'), CallbackArgs: 'b' },
        { SourceUrl: url('dropped', 'fail,ok~drop'), CallbackArgs: 'c' },
      ];
      const customer = simulatorClient(stack.credentials, new URL(stack.simUrl).host);
      await waitFor('UploadMediaByUrl', async () =>
        customer.uploadMediaByUrl('lua-space', sources).catch((err) => {
          if (err instanceof VodApiError && err.code === 'FlowLimitExceeded') return undefined;
          throw err;
        }),
      );
      const keys = new RedisKeys(stack.prefix);
      for (const s of sources)
        await waitFor(
          `final outcome of ${s.SourceUrl}`,
          async () => {
            const state = await readSourceState(
              admin,
              keys.sourceState(
                sourceKeyOf({ spaceName: 'lua-space', sourceUrl: s.SourceUrl, callbackArgs: s.CallbackArgs }),
              ),
            );
            return ['succeeded', 'retries_exhausted'].includes(state.decision ?? '') ? state : undefined;
          },
          60_000,
          200,
        );
      // A redelivery of a job BullMQ still holds: the ingress tallies it, a worker claims the tally.
      const redelivered = uploadEvent('Success');
      // Three posts: two tallies, so one runs by EVALSHA (the first is an EVAL after NOSCRIPT).
      for (let i = 0; i < 3; i++) expect(await postCallback(stack.ingressUrl, redelivered)).toBe(200);
      await waitFor('the tally claimed', async () => (await admin.exists(keys.collapsedDuplicates)) === 0);
      await admin.evalsha((await admin.script('LOAD', ROGUE)) as string, 1, `${stack.prefix}:rogue`);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await stack.stop();
      monitor.disconnect();
    }

    // Every one of our scripts ran, and each key it touched was declared.
    expect(new Set(calls.map((c) => c.script))).toEqual(new Set(OUR_SCRIPTS.values()));
    const undeclared: string[] = [];
    for (const call of calls)
      for (const args of call.touched) {
        const touched = (await admin.call('COMMAND', 'GETKEYS', ...args).catch(() => [])) as string[];
        for (const key of touched)
          if (!call.declared.has(key)) undeclared.push(`${call.script}: ${args[0]} ${key}`);
      }
    expect(undeclared).toEqual([`ROGUE: SET ${stack.prefix}:rogue:undeclared`]);
    admin.disconnect();
    await server.stop();
  }, 120_000);
});
