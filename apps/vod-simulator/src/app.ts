import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { redeliveryDelays, type SimulatorConfig } from './config.js';
import { loadScenarioFile } from './scenario.js';
import { VodSimulator } from './vod-simulator.js';

/** A simulator and the Fastify app serving it. */
export interface SimulatorApp {
  app: FastifyInstance;
  simulator: VodSimulator;
}

/**
 * The HTTP face of the simulator: the OpenAPI endpoint at `/` (GET or POST, any content type — the
 * raw body is kept because the signature covers it), `GET /healthz` and `GET /sim/stats`.
 */
export function buildSimulatorApp(config: SimulatorConfig, logger: Logger): SimulatorApp {
  const simulator = new VodSimulator({
    credentials: {
      accessKeyId: config.SIM_ACCESS_KEY_ID,
      secretKey: config.SIM_SECRET_KEY,
      region: config.SIM_REGION,
      service: 'vod',
      maxSkewSeconds: config.SIM_MAX_SKEW_SECONDS,
    },
    qps: config.SIM_QPS,
    processingMs: config.SIM_PROCESSING_MS,
    maxTasks: config.SIM_MAX_TASKS,
    scenarios: config.SIM_SCENARIO_FILE ? loadScenarioFile(config.SIM_SCENARIO_FILE) : undefined,
    callbackUrl: config.SIM_CALLBACK_URL,
    callbackSignUrl: config.SIM_CALLBACK_SIGN_URL || config.SIM_CALLBACK_URL,
    callbackPrivateKey: config.SIM_CALLBACK_PRIVATE_KEY,
    redeliveryDelaysMs: redeliveryDelays(config),
    callbackTimeoutMs: config.SIM_CALLBACK_TIMEOUT_MS,
    maxRequestLineBytes: config.SIM_MAX_REQUEST_LINE_BYTES,
    deniedActions: config.SIM_DENY_ACTIONS,
    logger,
  });
  const app: FastifyInstance = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const api = async (req: {
    method: string;
    raw: { url?: string };
    headers: Record<string, string | string[] | undefined>;
    body?: unknown;
  }) =>
    simulator.handle({
      method: req.method,
      rawUrl: req.raw.url ?? '/',
      headers: req.headers,
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    });
  app.route({
    method: ['GET', 'POST'],
    url: '/',
    handler: async (req, reply) => {
      const answer = await api(req);
      return reply.code(answer.status).send(answer.body);
    },
  });
  // Test hook: {"code":"InternalError","status":500,"count":2} fails the next 2 OpenAPI requests.
  app.post('/sim/faults', async (req, reply) => {
    let f: { code?: unknown; status?: unknown; count?: unknown; message?: unknown };
    try {
      f = JSON.parse(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '{}');
    } catch {
      return reply.code(400).send({ error: 'invalid_json' });
    }
    const status = Number(f.status ?? 500);
    const count = Number(f.count ?? 1);
    if (
      typeof f.code !== 'string' ||
      !Number.isInteger(status) ||
      status < 400 ||
      status > 599 ||
      !Number.isInteger(count) ||
      count < 0
    ) {
      return reply.code(400).send({ error: 'expected {code: string, status: 400–599, count: integer ≥ 0}' });
    }
    simulator.injectFaults({
      code: f.code,
      status,
      count,
      message: typeof f.message === 'string' ? f.message : undefined,
    });
    return { ok: true };
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/sim/stats', async () => ({
    api: simulator.stats,
    callbacks: simulator.sender.stats,
    tasks: simulator.tasks.size,
  }));
  app.addHook('onClose', async () => simulator.close());
  return { app, simulator };
}
