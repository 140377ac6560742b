import { VodApiClient } from '@vod-callbacks/vod-client';
import { buildSimulatorApp, loadSimulatorConfig, type VodSimulator } from '@vod-callbacks/vod-simulator';
import { pino } from 'pino';

/** A Volcengine AccessKeyId and its SecretKey. */
export interface VodCredentials {
  accessKeyId: string;
  secretKey: string;
}

/** A client of the VOD OpenAPI at `host` over plain HTTP (the simulator), signing with `credentials`. */
export function simulatorClient(credentials: VodCredentials, host: string): VodApiClient {
  return new VodApiClient({ ...credentials, region: 'cn-north-1', host, protocol: 'http:' });
}

/** The VOD simulator running in this process. */
export interface InProcessSimulator {
  /** Its state: tasks, stats, injected faults and denied actions. */
  simulator: VodSimulator;
  /** `127.0.0.1:<port>`, where it listens. */
  host: string;
  /** The only credentials it accepts. */
  credentials: VodCredentials;
  /** A client signing with them: the official SDK over HTTP. */
  api: VodApiClient;
  close(): Promise<void>;
}

/**
 * Starts the VOD simulator (as strict as VOD's documentation) in this process on a free port of
 * 127.0.0.1. It accepts only `AKLT<name>` / `<name>-secret`, finishes a task 10 ms after its upload
 * and answers up to 10,000 requests a second (no throttling unless `env` asks for it); `env` sets
 * any other SIM_* variable.
 */
export async function startSimulatorInProcess(
  name: string,
  env: Record<string, string> = {},
): Promise<InProcessSimulator> {
  const credentials = { accessKeyId: `AKLT${name}`, secretKey: `${name}-secret` };
  const { app, simulator } = buildSimulatorApp(
    loadSimulatorConfig({
      SIM_ACCESS_KEY_ID: credentials.accessKeyId,
      SIM_SECRET_KEY: credentials.secretKey,
      SIM_PROCESSING_MS: '10',
      SIM_QPS: '10000',
      ...env,
    }),
    pino({ level: 'silent' }),
  );
  const host = new URL(await app.listen({ host: '127.0.0.1', port: 0 })).host;
  return {
    simulator,
    host,
    credentials,
    api: simulatorClient(credentials, host),
    async close() {
      await app.close();
    },
  };
}
