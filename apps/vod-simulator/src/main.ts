#!/usr/bin/env node
import { configOrExit, installShutdown, loggerOptions } from '@vod-callbacks/shared';
import { pino } from 'pino';
import { buildSimulatorApp } from './app.js';
import { loadSimulatorConfig } from './config.js';
import { loadCli } from './load-cli.js';

if (process.argv[2] === 'load') {
  process.exit(await loadCli(process.argv.slice(3)));
}

const config = configOrExit(() => loadSimulatorConfig());
const logger = pino(loggerOptions('vod-simulator', config.LOG_LEVEL));
const { app } = configOrExit(() => buildSimulatorApp(config, logger));

const address = await app.listen({ host: config.SIM_HOST, port: config.SIM_PORT });
installShutdown(logger, [{ name: 'close simulator', run: () => app.close() }]);

logger.info(
  {
    address,
    callbackUrl: config.SIM_CALLBACK_URL || null,
    signed: Boolean(config.SIM_CALLBACK_PRIVATE_KEY),
    qps: config.SIM_QPS,
    processingMs: config.SIM_PROCESSING_MS,
    redeliveryDelaysMs: config.SIM_REDELIVERY_DELAYS_MS,
  },
  `vod-simulator listening on ${address} (OpenAPI UploadMediaByUrl, QueryUploadTaskInfo), callbacks to ${config.SIM_CALLBACK_URL || '(none)'}${config.SIM_CALLBACK_PRIVATE_KEY ? ' signed' : ''}`,
);
