import { outcomeFromFields, RedisKeys, shardOfSource, sourceKeyOf } from '@vod-callbacks/shared';
import { waitFor } from '@vod-callbacks/test-support';
import { VodApiError } from '@vod-callbacks/vod-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatorClient } from '../helpers/simulator-in-process.js';
import { expectReconciledReupload, settledSourceState } from '../helpers/source-state.js';
import { type SimulatedPipeline, startPipelineWithSimulator } from '../support/pipeline.js';
import { type ClusterFixture, startClusterFixture } from './cluster-stack.js';

// The re-upload loop and reconciliation on a real Redis Cluster with EVENT_SHARDS=3: the built VOD
// simulator signs its callbacks to the ingress, the worker re-uploads through it. A re-upload's
// callback must find its source's attempt in the source's shard (the ingress routes it there by
// its source fields, the worker looks there), and a re-upload whose callback is lost must be
// reconciled from that shard's pending uploads. One source per shard, so every shard's master takes part.

const SHARDS = 3;
const AK = 'AKLTclustertest';
const SK = 'cluster-secret-key';
const PRIVATE_KEY = 'clusterKey12345';
const SPACE = 'cluster-space';

interface Source {
  SourceUrl: string;
  CallbackArgs: string;
  shard: number;
}

/** A source of the simulator script `script` whose shard is `shard` (CallbackArgs chosen to land there). */
function sourceInShard(name: string, script: string, shard: number): Source {
  const SourceUrl = `https://media.example.com/cluster/${name}.mp4?vodsim=${script}`;
  for (let i = 0; ; i++) {
    const CallbackArgs = `{"itemId":"${name}-${i}"}`;
    if (shardOfSource(SPACE, SourceUrl, CallbackArgs, SHARDS) === shard)
      return { SourceUrl, CallbackArgs, shard };
  }
}

describe('re-upload loop and reconciliation on Redis Cluster with EVENT_SHARDS=3 (built processes)', () => {
  let fx: ClusterFixture;
  let stack: SimulatedPipeline;
  // A transient failure, then success: re-uploaded once, one source in each shard.
  const transient = Array.from({ length: SHARDS }, (_, shard) =>
    sourceInShard(`twice-${shard}`, 'fail,ok', shard),
  );
  // The re-upload's callback is dropped: only reconciliation can finish it (in shard 1, not the first).
  const dropped = sourceInShard('dropped', 'fail,ok~drop', 1);

  const shardPrefix = (s: Source) => fx.shardPrefixes[s.shard]!;
  const sourceKey = (s: Source) =>
    new RedisKeys(shardPrefix(s)).sourceState(
      sourceKeyOf({ spaceName: SPACE, sourceUrl: s.SourceUrl, callbackArgs: s.CallbackArgs }),
    );
  /** The source's state, once final (read from its shard). */
  const settled = (s: Source) => settledSourceState(fx.client, sourceKey(s), s.SourceUrl);
  /** Outcomes of `s` in each shard's stream, by shard. */
  const outcomesByShard = async (s: Source) =>
    Promise.all(
      fx.shardPrefixes.map(async (prefix) =>
        (await fx.client.xrange(`${prefix}:outcomes`, '-', '+'))
          .map(([, f]) => outcomeFromFields(f))
          .filter((o) => o.sourceUrl === s.SourceUrl && o.callbackArgs === s.CallbackArgs),
      ),
    );

  beforeAll(async () => {
    fx = await startClusterFixture('cl-reup', SHARDS);
    stack = await startPipelineWithSimulator({
      prefix: fx.prefix,
      credentials: { accessKeyId: AK, secretKey: SK },
      callbackPrivateKey: PRIVATE_KEY,
      env: fx.env,
      simulatorEnv: {
        SIM_CALLBACK_PRIVATE_KEY: PRIVATE_KEY,
        SIM_REDELIVERY_DELAYS_MS: '200,400,800',
        SIM_PROCESSING_MS: '100',
      },
      workerEnv: {
        REUPLOAD_BACKOFF_MS: '300',
        REUPLOAD_API_BACKOFF_MS: '200',
        REUPLOAD_SPACES: SPACE,
        RECONCILE_AFTER_SECONDS: '2',
        RECONCILE_INTERVAL_SECONDS: '1',
      },
      startTimeoutMs: 60_000,
    });
    const customer = simulatorClient(stack.credentials, new URL(stack.simUrl).host);
    await waitFor(
      'the customer’s UploadMediaByUrl',
      async () => {
        try {
          return await customer.uploadMediaByUrl(
            SPACE,
            [...transient, dropped].map(({ SourceUrl, CallbackArgs }) => ({ SourceUrl, CallbackArgs })),
          );
        } catch (err) {
          if (err instanceof VodApiError && err.code === 'FlowLimitExceeded') return undefined;
          throw err;
        }
      },
      10_000,
      300,
    );
  }, 120_000);

  afterAll(async () => {
    const exits = await stack?.stop();
    await fx?.stop();
    expect(exits?.map((e) => e.code)).toEqual([143, 143, 143]);
  });

  it('a transient failure is re-uploaded, and the re-upload’s callback is attempt 2 in the same shard', async () => {
    expect(new Set(transient.map((s) => shardPrefix(s))).size).toBe(SHARDS);
    for (const s of transient) {
      const state = await settled(s);
      expect(state, s.SourceUrl).toMatchObject({
        decision: 'succeeded',
        attempt: '2',
        code: 'Success',
        callbackArgs: s.CallbackArgs,
      });
      const byShard = await outcomesByShard(s);
      // Both outcomes in the source's shard, none elsewhere.
      expect(byShard.map((list) => list.length)).toEqual(
        fx.shardPrefixes.map((_, i) => (i === s.shard ? 2 : 0)),
      );
      const records = byShard[s.shard]!;
      expect(records.map((r) => [r.attempt, r.decision])).toEqual([
        [1, 'reupload_scheduled'],
        [2, 'succeeded'],
      ]);
      // The customer's JobId, then the one the worker's re-upload got.
      expect(new Set(records.map((r) => r.jobId)).size).toBe(2);
    }
  });

  it('a re-upload whose callback is lost is reconciled in its source’s shard', async () => {
    const state = await settled(dropped);
    expectReconciledReupload(state, dropped.CallbackArgs);
    const byShard = await outcomesByShard(dropped);
    expect(byShard.map((list) => list.length)).toEqual(
      fx.shardPrefixes.map((_, i) => (i === dropped.shard ? 2 : 0)),
    );
    expect(byShard[dropped.shard]!.map((r) => [r.attempt, r.decision, r.origin ?? 'callback'])).toEqual([
      [1, 'reupload_scheduled', 'callback'],
      [2, 'succeeded', 'reconcile'],
    ]);
    // No shard still waits for it.
    for (const prefix of fx.shardPrefixes)
      expect(await fx.client.zscore(new RedisKeys(prefix).pendingUploads, state.jobId!), prefix).toBeNull();
    const metrics = await (await fetch(stack.workerMetricsUrl)).text();
    expect(Number(/^vod_reconciled_uploads_total\{result="success"[^}]*\} (\d+)/m.exec(metrics)?.[1])).toBe(
      1,
    );
  });
});
